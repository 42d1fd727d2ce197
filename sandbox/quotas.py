"""Service Quotas as the sandbox serves them: the values a test or the demo set, per
account, region and quota; GetServiceQuota answers them and knows nothing else.

moto's own Service Quotas knows a fixed list of VPC quotas and none of the VPN ones, so
the sandbox answers GetServiceQuota itself. A quota nobody set answers
``NoSuchResourceException``, as AWS does for a code it does not know: the portal then
falls back to AWS's documented default.
"""

import json
import threading
from typing import Any

from sandbox.errors import ApiError


class QuotaBook:
    """Quota values by (account, region, service code, quota code)."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, str, str, str], float] = {}
        self._lock = threading.Lock()

    def set(self, *, account: str, region: str, service_code: str, quota_code: str, value: float):
        """Set (or replace) one quota's applied value."""
        with self._lock:
            self._values[(account, region, service_code, quota_code)] = float(value)

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._values.clear()

    def answer(self, *, account: str, region: str, body: bytes) -> str:
        """The JSON answer of GetServiceQuota for `body`, in `account` and `region`."""
        params: dict[str, Any] = json.loads(body or b"{}")
        service_code = params.get("ServiceCode", "")
        quota_code = params.get("QuotaCode", "")
        with self._lock:
            value = self._values.get((account, region, service_code, quota_code))
        if value is None:
            raise ApiError(
                "NoSuchResourceException",
                f"The quota {service_code}/{quota_code} is not known in {region}.",
            )
        arn = f"arn:aws:servicequotas:{region}:{account}:{service_code}/{quota_code}"
        return json.dumps(
            {
                "Quota": {
                    "ServiceCode": service_code,
                    "QuotaCode": quota_code,
                    "QuotaArn": arn,
                    "Value": value,
                    "Adjustable": True,
                    "GlobalQuota": False,
                }
            }
        )
