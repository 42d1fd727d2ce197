"""The nearest AWS region is proposed from a city and country by great-circle distance,
shown with its distance, and can be overridden by the engineer at review."""

import pytest

from tests.intake_data import FORM_STATIC, customer_form, draft_with_link
from vpn.cities import CITIES, COUNTRIES
from vpn.regions import REGIONS, haversine_km
from vpn.validation import IntakeInvalid, intake_clean, region_propose

# City, country, the region expected, and the plausible distance range in km.
CITIES_EXPECTED = [
    ("London", "United Kingdom", "eu-west-2", 0, 50),
    ("Frankfurt", "Germany", "eu-central-1", 0, 50),
    ("Stockholm", "SE", "eu-north-1", 0, 50),
    ("Madrid", "Spain", "eu-south-2", 200, 350),
    ("Chicago", "USA", "us-east-2", 350, 550),
    ("Seattle", "Washington", "us-west-2", 100, 300),
    ("Mexico City", "Mexico", "mx-central-1", 100, 300),
    ("São Paulo", "Brazil", "sa-east-1", 0, 50),
    ("Sao Paulo", "brasil", "sa-east-1", 0, 50),
    ("Buenos Aires", "Argentina", "sa-east-1", 1500, 1900),
    ("Lima", "Peru", "sa-east-1", 3200, 3700),
    ("Johannesburg", "South Africa", "af-south-1", 1100, 1400),
    ("Cairo", "Egypt", "il-central-1", 300, 500),
    ("Dubai", "UAE", "me-central-1", 50, 200),
    ("Mumbai", "India", "ap-south-1", 0, 50),
    ("Tokyo", "Japan", "ap-northeast-1", 0, 50),
    ("Singapore", "", "ap-southeast-1", 0, 50),
    ("Sydney", "Australia", "ap-southeast-2", 0, 50),
    ("Auckland", "New Zealand", "ap-southeast-2", 2000, 2300),
]


@pytest.mark.parametrize(("city", "country", "region", "low", "high"), CITIES_EXPECTED)
def test_the_nearest_region_is_proposed(city, country, region, low, high):
    proposal = region_propose(city=city, country=country)
    assert proposal.region.code == region
    assert low <= proposal.distance_km <= high


def test_the_cities_cover_every_continent_and_hundreds_of_places():
    assert len(CITIES) >= 300
    assert {city.country for city in CITIES} <= set(COUNTRIES)
    for city in CITIES:
        assert -90 <= city.latitude <= 90 and -180 <= city.longitude <= 180, city


def test_haversine_matches_known_distances():
    # London to New York is about 5,570 km; a quarter of the equator about 10,008 km.
    assert haversine_km(51.51, -0.13, 40.71, -74.01) == pytest.approx(5570, abs=30)
    assert haversine_km(0, 0, 0, 90) == pytest.approx(10008, abs=5)
    assert haversine_km(10, 10, 10, 10) == 0
    assert haversine_km(0, 0, 0, 180) == pytest.approx(20015, abs=5)


def test_names_match_without_accents_case_or_punctuation():
    for city, country in (("ZÜRICH", "switzerland"), ("st louis", "u.s."), ("Bengaluru", "IN")):
        assert region_propose(city=city, country=country)


def test_aliases_and_us_states_are_understood():
    assert region_propose(city="Bombay", country="").city.name == "Mumbai"
    assert region_propose(city="Austin", country="Texas").city.country == "US"
    # Georgia is a country and a US state.
    assert region_propose(city="Atlanta", country="Georgia").city.country == "US"
    assert region_propose(city="Tbilisi", country="Georgia").city.country == "GE"


@pytest.mark.parametrize(
    ("city", "country", "field", "message"),
    [
        ("Atlantis", "", "location_city", "We don't know where “Atlantis” is"),
        ("Springfield", "USA", "location_city", "Pick the AWS region yourself, or give a nearby"),
        ("Birmingham", "", "location_country", "There is more than one Birmingham"),
        ("London", "Middle-earth", "location_country", "We don't recognise the country"),
    ],
)
def test_unknown_places_ask_for_a_region_or_a_major_city(city, country, field, message):
    with pytest.raises(IntakeInvalid) as raised:
        region_propose(city=city, country=country)
    assert message in raised.value.errors[field][0]


def test_a_city_without_a_region_sets_the_proposed_region():
    data = {**FORM_STATIC, "region": "", "location_city": "Osaka", "location_country": "Japan"}
    result = intake_clean(data, staff=True)
    assert result.values["region"] == "ap-northeast-3"
    assert result.proposal.distance_km < 20


def test_a_chosen_region_wins_over_the_proposal():
    data = {
        **FORM_STATIC,
        "region": "us-east-1",
        "location_city": "Osaka",
        "location_country": "JP",
    }
    result = intake_clean(data, staff=True)
    assert result.values["region"] == "us-east-1"
    assert result.proposal.region.code == "ap-northeast-3"


def test_every_region_has_a_location():
    assert len({region.code for region in REGIONS}) == len(REGIONS)


@pytest.mark.django_db
def test_customer_sees_the_proposal_with_its_distance(client):
    request, token = draft_with_link()
    data = {
        **customer_form(FORM_STATIC),
        "region": "",
        "location_city": "Frankfurt am Main",
        "location_country": "Germany",
        "action": "draft",
    }
    assert client.post(f"/intake/{token}/", data).status_code == 302

    request.refresh_from_db()
    assert request.region == "eu-central-1"
    html = client.get(f"/intake/{token}/").content.decode()
    assert "Nearest AWS region to <strong>Frankfurt, Germany</strong>" in html
    assert "eu-central-1</span>, 0 km away" in html
    # The region shows as "propose" again, so a new city gets a new proposal.
    assert '<option value="" selected>' in html


@pytest.mark.django_db
def test_engineer_overrides_the_proposed_region_at_review(se_client):
    request, _ = draft_with_link(stage="submitted")
    request.location_city, request.location_country = "Manchester", "United Kingdom"
    request.region, request.customer_gateway_ip = "eu-west-2", "52.94.12.7"
    request.save()

    html = se_client.get(f"/requests/{request.pk}/").content.decode()
    assert "Nearest to Manchester, United Kingdom, 261 km away." in html

    data = {**FORM_STATIC, "org_id": request.customer.org_id, "region": "eu-west-1"}
    data.update(location_city="Manchester", location_country="United Kingdom", action="save")
    assert se_client.post(f"/requests/{request.pk}/edit/", data).status_code == 302

    request.refresh_from_db()
    assert request.region == "eu-west-1"
    html = se_client.get(f"/requests/{request.pk}/").content.decode()
    assert "Overridden: the nearest to Manchester, United Kingdom is" in html
    assert "this one is 267 km away" in html
