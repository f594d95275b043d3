"""National clouds: where to sign in, and where each API lives (api-notes.md, "Clouds").

The Power BI columns are Microsoft's published table. The Fabric API's address outside the
public cloud is not documented consistently, so it is unknown here (None) and must be given
as `api-base-url` and `scope`, rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CloudName = Literal["public", "usgov", "usgovhigh", "usgovdod", "china"]


@dataclass(frozen=True)
class Cloud:
    name: CloudName
    authority_host: str
    powerbi_api_base_url: str
    powerbi_scope: str
    fabric_api_base_url: str | None = None
    fabric_scope: str | None = None

    def api_base_url(self, api: str) -> str | None:
        return self.fabric_api_base_url if api == "fabric" else self.powerbi_api_base_url

    def scope(self, api: str) -> str | None:
        return self.fabric_scope if api == "fabric" else self.powerbi_scope


CLOUDS: dict[str, Cloud] = {
    cloud.name: cloud
    for cloud in (
        Cloud(
            "public",
            "https://login.microsoftonline.com",
            "https://api.powerbi.com/v1.0/myorg",
            "https://analysis.windows.net/powerbi/api/.default",
            "https://api.fabric.microsoft.com/v1",
            "https://api.fabric.microsoft.com/.default",
        ),
        Cloud(
            "usgov",  # GCC: public-cloud sign-in, government Power BI
            "https://login.microsoftonline.com",
            "https://api.powerbigov.us/v1.0/myorg",
            "https://analysis.usgovcloudapi.net/powerbi/api/.default",
        ),
        Cloud(
            "usgovhigh",
            "https://login.microsoftonline.us",
            "https://api.high.powerbigov.us/v1.0/myorg",
            "https://high.analysis.usgovcloudapi.net/powerbi/api/.default",
        ),
        Cloud(
            "usgovdod",
            "https://login.microsoftonline.us",
            "https://api.mil.powerbigov.us/v1.0/myorg",
            "https://mil.analysis.usgovcloudapi.net/powerbi/api/.default",
        ),
        Cloud(
            "china",
            "https://login.partner.microsoftonline.cn",
            "https://api.powerbi.cn/v1.0/myorg",
            "https://analysis.chinacloudapi.cn/powerbi/api/.default",
        ),
    )
}
