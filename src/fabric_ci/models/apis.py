"""What each of the two REST APIs can do, as data: input validation reads this table, so nothing
else needs an `if api == ...` to know which inputs, stages, item types and principals an API takes.

See api-notes.md: the Fabric API addresses stages by id (2-10 stages, any names) and takes any
Fabric item type and object ids only; the Power BI API has three stages addressed by order,
deploys Power BI items only, takes UPNs for users, and has six deployment options of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fabric_ci.models.requests import POWERBI_OPTIONS

ApiName = Literal["fabric", "powerbi"]

# The Power BI API's stages: order -> the name its documentation and UI give it.
POWERBI_STAGE_NAMES = ("Development", "Test", "Production")

# Item type spellings people bring from either API or the UI -> the Fabric name fabric-ci reports.
ITEM_TYPE_ALIASES = {"dataset": "SemanticModel", "semanticmodel": "SemanticModel"}

# Principal types: the Power BI API says App for what Fabric calls ServicePrincipal.
PRINCIPAL_TYPE_ALIASES = {"app": "ServicePrincipal"}


def canonical_item_type(name: str) -> str:
    return ITEM_TYPE_ALIASES.get(name.strip().lower(), name.strip())


@dataclass(frozen=True)
class ApiProfile:
    name: ApiName
    title: str
    # The only stages there are, by order; None: each pipeline has its own (ids, names, 2-10 of them).
    fixed_stages: tuple[str, ...] | None
    # The item types it can deploy (Fabric names); None: any.
    item_types: frozenset[str] | None
    principal_types: tuple[str, ...]
    accepts_upn: bool  # a user may be named by user principal name, not only by object id
    own_inputs: frozenset[str]  # inputs that only this API has


DEPLOY_OPTION_INPUTS = tuple(name.replace("_", "-") for name in POWERBI_OPTIONS)

APIS: dict[str, ApiProfile] = {
    "fabric": ApiProfile(
        name="fabric",
        title="the Fabric REST API",
        fixed_stages=None,
        item_types=None,
        principal_types=("User", "Group", "ServicePrincipal", "ServicePrincipalProfile"),
        accepts_upn=False,
        own_inputs=frozenset({"allow-cross-region-deployment", "public-stages", "plan-compare"}),
    ),
    "powerbi": ApiProfile(
        name="powerbi",
        title="the Power BI REST API",
        fixed_stages=POWERBI_STAGE_NAMES,
        item_types=frozenset({"SemanticModel", "Report", "Dashboard", "Dataflow", "Datamart"}),
        principal_types=("User", "Group", "ServicePrincipal"),
        accepts_upn=True,
        own_inputs=frozenset({*DEPLOY_OPTION_INPUTS, "update-app", "admin"}),
    ),
}

# The item types that have no definition in the Fabric API (getDefinition answers them
# OperationNotSupportedForItem), from Microsoft's "Item definition overview"
# (https://learn.microsoft.com/rest/api/fabric/articles/item-management/definitions/item-definition-overview),
# which lists the types that have one. plan-compare does not ask for these; for every other type it
# asks, and the service's answer has the last word (a type added to Fabric later is asked about too).
NO_DEFINITION_TYPES: frozenset[str] = frozenset(
    {
        "Dashboard",
        "Datamart",
        "MLExperiment",
        "MLModel",
        "MirroredWarehouse",
        "PaginatedReport",
        "SQLEndpoint",
        "Warehouse",
        "WarehouseSnapshot",
    }
)
