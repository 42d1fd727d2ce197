"""factory_boy factories for the VPN app's models."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from vpn.choices import IkeVersion, Routing, Stage, TunnelStatus
from vpn.models import Customer, Tunnel, VpnRequest
from vpn.permissions import OPS, SOLUTIONS_ENGINEERS


class UserFactory(factory.django.DjangoModelFactory):
    """A staff user; pass `group=` to put them in a staff group."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Sam"
    last_name = factory.Sequence(lambda n: f"Engineer{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "pass")

    @factory.post_generation
    def group(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))
        self.save()


def se_user(**kwargs):
    """A solutions engineer."""
    return UserFactory(group=SOLUTIONS_ENGINEERS, **kwargs)


def ops_user(**kwargs):
    """An ops engineer."""
    return UserFactory(group=OPS, **kwargs)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    org_id = factory.Faker("uuid4")
    contact_name = "Network Team"
    contact_email = factory.Sequence(lambda n: f"netops{n}@example.com")


class VpnRequestFactory(factory.django.DjangoModelFactory):
    """A complete BGP request, still a draft unless `stage=` says otherwise.

    Setting `stage` directly is for fixtures only: the product moves stages through
    `vpn.services.stages.request_move`.
    """

    class Meta:
        model = VpnRequest

    customer = factory.SubFactory(CustomerFactory)
    owner = None
    stage = Stage.DRAFT
    region = "eu-west-2"
    customer_gateway_ip = factory.Sequence(lambda n: f"198.51.100.{n % 250 + 1}")
    routing = Routing.BGP
    bgp_asn = 65010
    advertised_prefixes = factory.LazyFunction(lambda: ["10.20.0.0/16"])
    static_subnets = factory.LazyFunction(list)
    ike_version = IkeVersion.IKEV2
    tunnel_count = 2
    nat_wanted = False


class TunnelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tunnel

    request = factory.SubFactory(VpnRequestFactory)
    position = 1
    outside_ip = factory.Sequence(lambda n: f"203.0.113.{n % 250 + 1}")
    inside_cidr = factory.Sequence(lambda n: f"169.254.{10 + n // 64 % 200}.{n % 64 * 4}/30")
    psk = factory.Sequence(lambda n: f"Test_psk_{n:04d}.abcdefgh")
    status = TunnelStatus.UP
