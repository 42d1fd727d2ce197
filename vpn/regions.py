"""AWS regions the portal can build in, with the location of each (for proposing the
region nearest to a customer by great-circle distance)."""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    """An AWS region and the approximate location of its data centres."""

    code: str
    name: str
    latitude: float
    longitude: float


REGIONS: tuple[Region, ...] = (
    Region("us-east-1", "US East (N. Virginia)", 38.13, -78.45),
    Region("us-east-2", "US East (Ohio)", 39.96, -83.00),
    Region("us-west-1", "US West (N. California)", 37.35, -121.96),
    Region("us-west-2", "US West (Oregon)", 45.84, -119.70),
    Region("ca-central-1", "Canada (Central)", 45.50, -73.57),
    Region("ca-west-1", "Canada West (Calgary)", 51.05, -114.07),
    Region("mx-central-1", "Mexico (Central)", 20.59, -100.39),
    Region("sa-east-1", "South America (São Paulo)", -23.55, -46.63),
    Region("eu-west-1", "Europe (Ireland)", 53.35, -6.26),
    Region("eu-west-2", "Europe (London)", 51.51, -0.13),
    Region("eu-west-3", "Europe (Paris)", 48.86, 2.35),
    Region("eu-central-1", "Europe (Frankfurt)", 50.11, 8.68),
    Region("eu-central-2", "Europe (Zurich)", 47.37, 8.54),
    Region("eu-north-1", "Europe (Stockholm)", 59.33, 18.07),
    Region("eu-south-1", "Europe (Milan)", 45.46, 9.19),
    Region("eu-south-2", "Europe (Spain)", 41.65, -0.88),
    Region("me-south-1", "Middle East (Bahrain)", 26.07, 50.56),
    Region("me-central-1", "Middle East (UAE)", 24.45, 54.38),
    Region("il-central-1", "Israel (Tel Aviv)", 32.09, 34.78),
    Region("af-south-1", "Africa (Cape Town)", -33.92, 18.42),
    Region("ap-south-1", "Asia Pacific (Mumbai)", 19.08, 72.88),
    Region("ap-south-2", "Asia Pacific (Hyderabad)", 17.39, 78.49),
    Region("ap-east-1", "Asia Pacific (Hong Kong)", 22.32, 114.17),
    Region("ap-northeast-1", "Asia Pacific (Tokyo)", 35.68, 139.69),
    Region("ap-northeast-2", "Asia Pacific (Seoul)", 37.57, 126.98),
    Region("ap-northeast-3", "Asia Pacific (Osaka)", 34.69, 135.50),
    Region("ap-southeast-1", "Asia Pacific (Singapore)", 1.35, 103.82),
    Region("ap-southeast-2", "Asia Pacific (Sydney)", -33.87, 151.21),
    Region("ap-southeast-3", "Asia Pacific (Jakarta)", -6.21, 106.85),
    Region("ap-southeast-4", "Asia Pacific (Melbourne)", -37.81, 144.96),
    Region("ap-southeast-5", "Asia Pacific (Malaysia)", 3.14, 101.69),
    Region("ap-southeast-7", "Asia Pacific (Thailand)", 13.76, 100.50),
)

REGIONS_BY_CODE = {region.code: region for region in REGIONS}
REGION_CHOICES = [(region.code, f"{region.name} · {region.code}") for region in REGIONS]

# Mean radius of the Earth (IUGG), in kilometres.
EARTH_RADIUS_KM = 6371.0088


def haversine_km(latitude1: float, longitude1: float, latitude2: float, longitude2: float) -> float:
    """Great-circle distance between two points given in degrees, in kilometres."""
    phi1, phi2 = math.radians(latitude1), math.radians(latitude2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(longitude2 - longitude1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    # min() guards asin against rounding just above 1 for antipodal points.
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def region_distance_km(*, region: Region, latitude: float, longitude: float) -> float:
    """How far a point is from a region's location, in kilometres."""
    return haversine_km(latitude, longitude, region.latitude, region.longitude)


def region_nearest(*, latitude: float, longitude: float) -> tuple[Region, float]:
    """The region nearest to a point by great-circle distance, and that distance in km."""
    return min(
        (
            (region, region_distance_km(region=region, latitude=latitude, longitude=longitude))
            for region in REGIONS
        ),
        key=lambda pair: pair[1],
    )
