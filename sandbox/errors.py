"""EC2-style API errors and their XML (and JSON) rendering.

Every error the sandbox produces itself (validation, DryRun, injected faults) is an
:class:`ApiError`, rendered in EC2's error shape so that botocore raises a ``ClientError``
carrying the same code as real AWS would. A fault injected into a JSON-protocol call
(CloudWatch Logs) is rendered in that protocol's shape instead.
"""

import json
import uuid
from xml.sax.saxutils import escape


class ApiError(Exception):
    """An error answer of the EC2 API: an error code, a message and an HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    def to_xml(self) -> str:
        """Render the error the way EC2 does (``<Response><Errors><Error>...``)."""
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            "<Response><Errors><Error>"
            f"<Code>{escape(self.code)}</Code><Message>{escape(self.message)}</Message>"
            f"</Error></Errors><RequestID>{uuid.uuid4()}</RequestID></Response>"
        )

    def to_json(self) -> str:
        """Render the error the way JSON-protocol services (CloudWatch Logs) do."""
        return json.dumps({"__type": self.code, "message": self.message})


def invalid_parameter(message: str) -> ApiError:
    """The generic 400 answer for a parameter value AWS would refuse."""
    return ApiError("InvalidParameterValue", message)


def dry_run() -> ApiError:
    """What AWS answers to any ``DryRun=true`` request the caller is allowed to make."""
    return ApiError(
        "DryRunOperation", "Request would have succeeded, but DryRun flag is set.", status=412
    )


def throttled() -> ApiError:
    """EC2's throttling answer; botocore's retry modes recognise this code and back off."""
    return ApiError("RequestLimitExceeded", "Request limit exceeded.", status=503)


def internal_error() -> ApiError:
    """EC2's generic server-side failure."""
    return ApiError(
        "InternalError", "An internal error has occurred. Please try again.", status=500
    )


# The quota error AWS answers each creating action with once an account's limit is reached.
_QUOTA_ERRORS = {
    "CreateVpc": ("VpcLimitExceeded", "The maximum number of VPCs has been reached."),
    "CreateSubnet": ("SubnetLimitExceeded", "The maximum number of subnets has been reached."),
    "CreateVpnGateway": (
        "VpnGatewayLimitExceeded",
        "The maximum number of virtual private gateways has been reached.",
    ),
    "CreateCustomerGateway": (
        "CustomerGatewayLimitExceeded",
        "The maximum number of customer gateways has been reached.",
    ),
    "CreateVpnConnection": (
        "VpnConnectionLimitExceeded",
        "The maximum number of VPN connections has been reached.",
    ),
    "CreateInternetGateway": (
        "InternetGatewayLimitExceeded",
        "The maximum number of internet gateways has been reached.",
    ),
    "AllocateAddress": (
        "AddressLimitExceeded",
        "The maximum number of addresses has been reached.",
    ),
    "CreateNatGateway": (
        "NatGatewayLimitExceeded",
        "The maximum number of NAT gateways has been reached.",
    ),
}


def quota_exceeded(action: str) -> ApiError:
    """The (permanent) answer of an action whose account quota is used up."""
    code, message = _QUOTA_ERRORS.get(
        action, ("ResourceLimitExceeded", "The maximum number of resources has been reached.")
    )
    return ApiError(code, message)
