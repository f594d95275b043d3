"""The demo tenant the emulator starts with: one service principal, thirteen pipelines, their items.

Everything here is plain, immutable data; `state.py` turns it into the mutable tenant.
Identifiers are stable across runs, so scripts and tests can hard-code them.

Sign-in (Entra ID stand-in)
    TENANT_ID             e37de926-00d4-493d-85c5-49d2d2fdc1fb
    CLIENT_ID             57760066-428a-4acd-b192-e392b8e2b8d3   (the app registration)
    CLIENT_SECRET         emulator-secret                        (a demo secret, not a credential)
    SERVICE_PRINCIPAL_ID  79f8bce5-f6a7-4c4d-bff7-e09cd25fb551   (its object id: performedBy, Admin role)
    USER_PRINCIPAL_ID     f4eaa7b8-9d17-4e22-80d2-3169220c95d1   (a seeded User admin)
    GROUP_PRINCIPAL_ID    978c3b60-7f1c-4112-bf27-6a0b643ff04b   (a seeded Group admin)
    FABRIC_SCOPE, POWERBI_SCOPE  the two resources tokens are issued for (".default" scopes)

    Client certificate: the emulator's CA issues one at start (CN=CLIENT_CERTIFICATE_SUBJECT
    "fabric-ci-emulator-client") and registers its thumbprints on the app. It is written next to
    ca.pem as client-certificate.pem (key + certificate), client-certificate-encrypted.pem and
    client-certificate.pfx, both with password CLIENT_CERTIFICATE_PASSWORD "emulator-pfx-password".
    Any certificate from the same CA with that subject also signs in (subject name/issuer auth).

    User (ROPC; the app allows public client flows)
    USER_NAME             deployer@contoso.example               (its object id is USER_PRINCIPAL_ID)
    USER_PASSWORD         emulator-password                      (a demo password)

    Managed identity (IMDS stand-in; a system-assigned identity is accepted too)
    MANAGED_IDENTITY_CLIENT_ID    0a355b1b-49b5-409c-adf3-09312f1483c5   (user-assigned)
    MANAGED_IDENTITY_OBJECT_ID    2ed29e29-75b6-4502-a85c-bc51111e3900
    MANAGED_IDENTITY_RESOURCE_ID  /subscriptions/.../userAssignedIdentities/fabric-ci-deployer

    Workload identity federation: the app trusts the GitHub and Azure DevOps stand-ins' issuers for
    FEDERATED_AUDIENCE "api://AzureADTokenExchange" and the subjects in FEDERATED_SUBJECTS:
    GITHUB_SUBJECT        repo:contoso/fabric-releases:ref:refs/heads/main   (what the stand-in issues)
                          repo:contoso/fabric-releases:environment:Production
                          repo:contoso/fabric-releases:ref:refs/tags/v1.0.0
    AZURE_DEVOPS_SUBJECT  sc://contoso/fabric/fabric-ci                      (what the stand-in issues)
    GITHUB_REQUEST_TOKEN  emulator-github-request-token   (stands in for ACTIONS_ID_TOKEN_REQUEST_TOKEN)
    AZURE_DEVOPS_ACCESS_TOKEN     emulator-system-access-token           (stands in for System.AccessToken)
    SERVICE_CONNECTION_ID         f5bf7fd9-6d0f-4487-a962-8100c82a37ca   (the AzureRM service connection)
    AZURE_DEVOPS_ORGANIZATION_ID  148605db-c00a-4202-a7cd-97df4b3ba1bf   (in the issuer URL)
    AZURE_DEVOPS_PROJECT_ID       e9481401-460f-4505-ba0d-dfab9517732d   (project "fabric")

The demo pipeline "Sales Analytics" (DEMO_PIPELINE_ID 1df83ac3-c015-4ffe-8c0f-a8ab00b359b8)
    stage (order)    stage id                              workspace id (name)
    Development (0)  4b35519e-db0f-47cd-88dd-7c6b7b5f45e0  37ae491f-b776-4730-9bbf-d5bc408b2472 (Sales Analytics [Dev])
    Test (1)         ea6a9148-673f-47d9-93a5-5b32281bafc2  3f5b82f7-5bc7-41b7-a045-9dea09523e2e (Sales Analytics [Test])
    Production (2)   68e47c7d-73ca-4c40-95f8-c735126fefd5  3d97945d-f148-4440-9d1a-6bafb3adea83 (Sales Analytics)
    (DEV_STAGE_ID, TEST_STAGE_ID, PROD_STAGE_ID; DEV_WORKSPACE_ID, TEST_WORKSPACE_ID, PROD_WORKSPACE_ID)

    Development holds Report "Sales Overview", SemanticModel "Sales Model", Report "Regional Sales",
    Notebook "Prepare Data", Lakehouse "Sales Lakehouse", Dashboard "Sales Dashboard",
    Dashboard "Executive Dashboard", Datamart "Sales Datamart", and Report "Customers" plus
    SemanticModel "Customers" (one name under two types, for ambiguity tests).
    Test already holds older or equal copies of four of them, so deploying Development -> Test
    shows New, Different and NoDifference; Production holds three.
    Three past Development -> Test deployments (all Succeeded) make up the operations history.

Other pipelines (ids from `stable_id`): "Finance Reporting" (Dev, Prod), "Marketing" and
"marketing" (names that differ only by case), "Operations Pipeline" (Dev, Test without a
workspace, UAT, Prod), "Four Stage Release" (FOUR_STAGE_PIPELINE_ID: Development, Test, Staging,
Production, each with a workspace; Development holds SemanticModel "Release Model", Report "Release
Overview" and Notebook "Release Checks", the other three are empty). With the default page size of 2,
listing pipelines takes seven pages.

"HR Reporting" (HR_PIPELINE_ID = stable_id("pipeline", "HR Reporting")), for the Power BI API
    Development (0)  HR_DEV_STAGE_ID   no workspace (backward deployment Test -> Development with newWorkspace)
    Test (1)         HR_TEST_STAGE_ID  HR_TEST_WORKSPACE_ID "HR Reporting [Test]": SemanticModel "HR Model",
                     Report "Headcount", Dashboard "HR Dashboard", Dataflow "HR Dataflow", Datamart "HR Datamart"
    Production (2)   HR_PROD_STAGE_ID  HR_PROD_WORKSPACE_ID "HR Reporting": older copies of "HR Model" and
                     "Headcount", and an app
    (HR_TEST_ITEMS, HR_PROD_ITEMS: (type, name) -> id; the service principal is its only Admin)

A cascade for deploy-many (CASCADE_PIPELINE_NAMES; ids from `stable_id("pipeline", name)`): six pipelines
whose Development items read each other's across pipelines, served by the Fabric relations/upstream API
(RELATIONS: (item id, id of the item it depends on, relationType)). Each has Development, Test and
Production, each with a workspace "<pipeline> [<stage>]"; only Development holds items:
    "Shared Models"       SemanticModel "Revenue Model" and "Customer Model", both reading Lakehouse
                          "Shared Lakehouse"
    "Revenue Reports"     Report "Revenue Overview"                 reads Shared Models' Revenue Model
    "Customer Reports"    Report "Customer Insights"                reads Shared Models' Customer Model
    "Regional Reports"    Report "Regional Revenue", "Regional Customers"   read the two shared models
    "Executive Reports"   SemanticModel "Executive Model"           reads both shared models;
                          Report "Executive Summary"                reads Executive Model
    "Board Pack"          Report "Board Summary"                    reads Executive Reports' Executive Model
So the longest chain is Shared Models -> Executive Reports -> Board Pack. Every cascade deployment takes
`operation_seconds` unless the `pipeline_operation_seconds` setting (pipeline id -> seconds) says otherwise.
Relations are seeded for the Development items; a deployment binds the items it deploys as the service's
autobinding does (state.py `_bind`): a deployed report reads the counterpart, in its own stage, of the
model its source reads (in the model's pipeline), once that has been deployed there; until then the
Development model.

Apps (APPS: workspace id -> app name): "Sales Analytics" (PROD_WORKSPACE_ID) has the app "Sales
Analytics App", "HR Reporting" (HR_PROD_WORKSPACE_ID) "HR Reporting App"; no other workspace has one.

Directory (DIRECTORY; UPNs resolve to object ids for the Power BI API's user identifiers)
    USER_NAME deployer@contoso.example   USER_PRINCIPAL_ID      User (Admin of Sales Analytics;
                                                                Member of Sales Analytics [Dev])
    ANALYST_NAME analyst@contoso.example ANALYST_PRINCIPAL_ID   a4d1a3b4-5d0e-4b53-9f4c-0e5b1f8f2a61  User
    GROUP_PRINCIPAL_ID                   "BI Admins"            Group (Admin of Sales Analytics)
    BI_DEVELOPERS_GROUP_ID               "BI Developers"        c2f0c0de-8e0b-4c1e-a0d4-3b7a9d6e5f12  Group
    SERVICE_PRINCIPAL_ID                 "fabric-ci-emulator"   ServicePrincipal (App in Power BI terms)
    OTHER_APP_PRINCIPAL_ID               "release-bot"          5e7b9c2a-3f41-4d8e-9b6a-71c0d2e4f8a3  ServicePrincipal
    The analyst, BI Developers and release-bot have no role anywhere at start.

Workspace roles (WORKSPACE_ROLES): the service principal is Admin of every seeded workspace
(spare ones included); USER_PRINCIPAL_ID is a Member of Sales Analytics [Dev].

Unassigned workspaces, for assign-workspace tests: SPARE_WORKSPACE_IDS
    0086393a-7234-43f6-8dfd-a6f7d79a41a4  "Spare Workspace 1"
    0fc2db42-5823-4fc4-b1c2-302ba2ae73ad  "Spare Workspace 2"
    0c84e1f0-e3c5-4a17-af9d-475b7b19fff9  "Spare Workspace 3"

Item ids, and the ids of the non-demo pipelines, are `stable_id(...)` of their names (uuid5), e.g.
`stable_id("item", DEV_STAGE_ID, "Report", "Sales Overview")`; `DEV_ITEMS` etc. list the demo ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

_NAMESPACE = uuid.UUID("7622a093-13a5-4340-8571-f17e53819650")


def stable_id(*parts: str) -> str:
    """A GUID derived from names, identical on every run (uuid5 in the emulator's namespace)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


TENANT_ID = "e37de926-00d4-493d-85c5-49d2d2fdc1fb"
CLIENT_ID = "57760066-428a-4acd-b192-e392b8e2b8d3"
CLIENT_SECRET = "emulator-secret"  # noqa: S105 - a documented demo value, printed in the banner
SERVICE_PRINCIPAL_ID = "79f8bce5-f6a7-4c4d-bff7-e09cd25fb551"
SERVICE_PRINCIPAL_NAME = "fabric-ci-emulator"
USER_PRINCIPAL_ID = "f4eaa7b8-9d17-4e22-80d2-3169220c95d1"
GROUP_PRINCIPAL_ID = "978c3b60-7f1c-4112-bf27-6a0b643ff04b"
GROUP_NAME = "BI Admins"
# Principals with no role at start, for add-user tests.
ANALYST_NAME = "analyst@contoso.example"
ANALYST_PRINCIPAL_ID = "a4d1a3b4-5d0e-4b53-9f4c-0e5b1f8f2a61"
ANALYST_DISPLAY_NAME = "Analyst"
BI_DEVELOPERS_GROUP_ID = "c2f0c0de-8e0b-4c1e-a0d4-3b7a9d6e5f12"
BI_DEVELOPERS_GROUP_NAME = "BI Developers"
OTHER_APP_PRINCIPAL_ID = "5e7b9c2a-3f41-4d8e-9b6a-71c0d2e4f8a3"
OTHER_APP_NAME = "release-bot"

FABRIC_RESOURCE = "https://api.fabric.microsoft.com"
FABRIC_SCOPE = f"{FABRIC_RESOURCE}/.default"
# The Power BI REST API's resource: tokens for it open the same emulated API.
POWERBI_RESOURCE = "https://analysis.windows.net/powerbi/api"
POWERBI_SCOPE = f"{POWERBI_RESOURCE}/.default"

USER_NAME = "deployer@contoso.example"
USER_PASSWORD = "emulator-password"  # noqa: S105 - a documented demo value
USER_DISPLAY_NAME = "Deployer"

MANAGED_IDENTITY_CLIENT_ID = "0a355b1b-49b5-409c-adf3-09312f1483c5"
MANAGED_IDENTITY_OBJECT_ID = "2ed29e29-75b6-4502-a85c-bc51111e3900"
MANAGED_IDENTITY_RESOURCE_ID = (
    "/subscriptions/1a0b0464-a84a-47ca-b735-b2ee19220761/resourcegroups/fabric-ci/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/fabric-ci-deployer"
)
# The identity IMDS uses when a request names none (the machine's system-assigned identity).
SYSTEM_MANAGED_IDENTITY_CLIENT_ID = "b03502b1-1877-44d1-bdce-e50b3b50f1f9"

FEDERATED_AUDIENCE = "api://AzureADTokenExchange"
GITHUB_REQUEST_TOKEN = "emulator-github-request-token"  # noqa: S105 - a documented demo value
GITHUB_REPOSITORY = "contoso/fabric-releases"
GITHUB_SUBJECT = f"repo:{GITHUB_REPOSITORY}:ref:refs/heads/main"
AZURE_DEVOPS_ACCESS_TOKEN = "emulator-system-access-token"  # noqa: S105 - a documented demo value
AZURE_DEVOPS_ORGANIZATION = "contoso"
AZURE_DEVOPS_ORGANIZATION_ID = "148605db-c00a-4202-a7cd-97df4b3ba1bf"
AZURE_DEVOPS_PROJECT_ID = "e9481401-460f-4505-ba0d-dfab9517732d"
SERVICE_CONNECTION_ID = "f5bf7fd9-6d0f-4487-a962-8100c82a37ca"
AZURE_DEVOPS_SUBJECT = f"sc://{AZURE_DEVOPS_ORGANIZATION}/fabric/fabric-ci"
# The subjects of the app's federated credentials (each trusted from both stand-in issuers).
FEDERATED_SUBJECTS: tuple[str, ...] = (
    GITHUB_SUBJECT,
    f"repo:{GITHUB_REPOSITORY}:environment:Production",
    f"repo:{GITHUB_REPOSITORY}:ref:refs/tags/v1.0.0",
    AZURE_DEVOPS_SUBJECT,
)

CLIENT_CERTIFICATE_SUBJECT = "fabric-ci-emulator-client"
CLIENT_CERTIFICATE_PASSWORD = "emulator-pfx-password"  # noqa: S105 - a documented demo value

DEMO_PIPELINE_NAME = "Sales Analytics"
DEMO_PIPELINE_ID = "1df83ac3-c015-4ffe-8c0f-a8ab00b359b8"
DEV_STAGE_ID = "4b35519e-db0f-47cd-88dd-7c6b7b5f45e0"
TEST_STAGE_ID = "ea6a9148-673f-47d9-93a5-5b32281bafc2"
PROD_STAGE_ID = "68e47c7d-73ca-4c40-95f8-c735126fefd5"
DEV_WORKSPACE_ID = "37ae491f-b776-4730-9bbf-d5bc408b2472"
TEST_WORKSPACE_ID = "3f5b82f7-5bc7-41b7-a045-9dea09523e2e"
PROD_WORKSPACE_ID = "3d97945d-f148-4440-9d1a-6bafb3adea83"

SPARE_WORKSPACE_IDS = (
    "0086393a-7234-43f6-8dfd-a6f7d79a41a4",
    "0fc2db42-5823-4fc4-b1c2-302ba2ae73ad",
    "0c84e1f0-e3c5-4a17-af9d-475b7b19fff9",
)


@dataclass(frozen=True)
class SeedItem:
    """An item in a stage's workspace. `version` stands for its content: equal versions = no difference."""

    id: str
    display_name: str
    item_type: str
    version: int = 1
    source_item_id: str | None = None  # the paired item in the previous stage
    target_item_id: str | None = None  # the paired item in the next stage


@dataclass(frozen=True)
class SeedStage:
    id: str
    display_name: str
    description: str
    workspace_id: str | None
    workspace_name: str | None
    is_public: bool = False
    items: tuple[SeedItem, ...] = ()


@dataclass(frozen=True)
class SeedRoleAssignment:
    principal_id: str
    principal_type: str
    role: str = "Admin"


@dataclass(frozen=True)
class SeedPipeline:
    id: str
    display_name: str
    description: str
    stages: tuple[SeedStage, ...]
    role_assignments: tuple[SeedRoleAssignment, ...] = field(
        default=(SeedRoleAssignment(SERVICE_PRINCIPAL_ID, "ServicePrincipal"),)
    )


@dataclass(frozen=True)
class SeedPrincipal:
    """A directory entry. `principal_type` is the Fabric name (User, Group, ServicePrincipal)."""

    id: str
    principal_type: str
    display_name: str
    user_principal_name: str | None = None  # users only


@dataclass(frozen=True)
class SeedWorkspaceRole:
    workspace_id: str
    principal_id: str
    principal_type: str
    role: str  # Admin, Member, Contributor or Viewer


@dataclass(frozen=True)
class SeedHistoryEntry:
    """A past Development -> Test deployment of the demo pipeline, `hours_ago` before start-up."""

    id: str
    hours_ago: float
    note: str
    items: tuple[tuple[str, str], ...]  # (item type, display name) in Development


def _item(stage_id: str, item_type: str, name: str, version: int = 1, **links: str) -> SeedItem:
    return SeedItem(stable_id("item", stage_id, item_type, name), name, item_type, version, **links)


def _dev_id(item_type: str, name: str) -> str:
    return stable_id("item", DEV_STAGE_ID, item_type, name)


def _test_id(item_type: str, name: str) -> str:
    return stable_id("item", TEST_STAGE_ID, item_type, name)


def _prod_id(item_type: str, name: str) -> str:
    return stable_id("item", PROD_STAGE_ID, item_type, name)


# Development content: version numbers only matter relative to the copies in Test and Production.
_DEV_CONTENT: tuple[tuple[str, str, int], ...] = (
    ("Report", "Sales Overview", 3),
    ("SemanticModel", "Sales Model", 2),
    ("Report", "Regional Sales", 1),
    ("Notebook", "Prepare Data", 2),
    ("Lakehouse", "Sales Lakehouse", 1),
    ("Dashboard", "Sales Dashboard", 1),
    ("Dashboard", "Executive Dashboard", 1),
    ("Datamart", "Sales Datamart", 1),
    ("Report", "Customers", 1),
    ("SemanticModel", "Customers", 1),
)
# Test: "Sales Overview" and "Prepare Data" are older (Different), the other two are current.
_TEST_CONTENT: tuple[tuple[str, str, int], ...] = (
    ("Report", "Sales Overview", 2),
    ("SemanticModel", "Sales Model", 2),
    ("Notebook", "Prepare Data", 1),
    ("Lakehouse", "Sales Lakehouse", 1),
)
_PROD_CONTENT: tuple[tuple[str, str, int], ...] = (
    ("Report", "Sales Overview", 1),
    ("SemanticModel", "Sales Model", 1),
    ("Lakehouse", "Sales Lakehouse", 1),
)
_TEST_KEYS = {(t, n) for t, n, _ in _TEST_CONTENT}
_PROD_KEYS = {(t, n) for t, n, _ in _PROD_CONTENT}


def _dev_items() -> tuple[SeedItem, ...]:
    items = []
    for item_type, name, version in _DEV_CONTENT:
        links = {"target_item_id": _test_id(item_type, name)} if (item_type, name) in _TEST_KEYS else {}
        items.append(_item(DEV_STAGE_ID, item_type, name, version, **links))
    return tuple(items)


def _test_items() -> tuple[SeedItem, ...]:
    items = []
    for item_type, name, version in _TEST_CONTENT:
        links = {"source_item_id": _dev_id(item_type, name)}
        if (item_type, name) in _PROD_KEYS:
            links["target_item_id"] = _prod_id(item_type, name)
        items.append(_item(TEST_STAGE_ID, item_type, name, version, **links))
    return tuple(items)


def _prod_items() -> tuple[SeedItem, ...]:
    return tuple(_item(PROD_STAGE_ID, t, n, v, source_item_id=_test_id(t, n)) for t, n, v in _PROD_CONTENT)


DEV_ITEMS: dict[tuple[str, str], str] = {(t, n): _dev_id(t, n) for t, n, _ in _DEV_CONTENT}
TEST_ITEMS: dict[tuple[str, str], str] = {(t, n): _test_id(t, n) for t, n, _ in _TEST_CONTENT}
PROD_ITEMS: dict[tuple[str, str], str] = {(t, n): _prod_id(t, n) for t, n, _ in _PROD_CONTENT}

_DEFAULT_DESCRIPTIONS = {
    "Development": "Design, review, and revise your content in a development workspace.",
    "Test": "Test and verify your content in a preproduction workspace.",
    "Production": "Content that is tested and ready for your customers.",
}


def _stage(pipeline: str, name: str, *, workspace: bool = True, items: tuple[tuple[str, str], ...] = ()) -> SeedStage:
    """A stage of a non-demo pipeline; its workspace is called '<pipeline> [<stage>]'."""
    stage_id = stable_id("stage", pipeline, name)
    return SeedStage(
        id=stage_id,
        display_name=name,
        description=_DEFAULT_DESCRIPTIONS.get(name, f"The {name} stage."),
        workspace_id=stable_id("workspace", pipeline, name) if workspace else None,
        workspace_name=f"{pipeline} [{name}]" if workspace else None,
        is_public=name in ("Production", "Prod"),
        items=tuple(_item(stage_id, t, n) for t, n in items),
    )


SALES_ANALYTICS = SeedPipeline(
    id=DEMO_PIPELINE_ID,
    display_name=DEMO_PIPELINE_NAME,
    description="Sales reports, from development to production.",
    stages=(
        SeedStage(
            DEV_STAGE_ID,
            "Development",
            _DEFAULT_DESCRIPTIONS["Development"],
            DEV_WORKSPACE_ID,
            "Sales Analytics [Dev]",
            items=_dev_items(),
        ),
        SeedStage(
            TEST_STAGE_ID,
            "Test",
            _DEFAULT_DESCRIPTIONS["Test"],
            TEST_WORKSPACE_ID,
            "Sales Analytics [Test]",
            items=_test_items(),
        ),
        SeedStage(
            PROD_STAGE_ID,
            "Production",
            _DEFAULT_DESCRIPTIONS["Production"],
            PROD_WORKSPACE_ID,
            "Sales Analytics",
            is_public=True,
            items=_prod_items(),
        ),
    ),
    role_assignments=(
        SeedRoleAssignment(SERVICE_PRINCIPAL_ID, "ServicePrincipal"),
        SeedRoleAssignment(USER_PRINCIPAL_ID, "User"),
        SeedRoleAssignment(GROUP_PRINCIPAL_ID, "Group"),
    ),
)

HR_PIPELINE_NAME = "HR Reporting"
HR_PIPELINE_ID = stable_id("pipeline", HR_PIPELINE_NAME)
HR_DEV_STAGE_ID = stable_id("stage", HR_PIPELINE_NAME, "Development")
HR_TEST_STAGE_ID = stable_id("stage", HR_PIPELINE_NAME, "Test")
HR_PROD_STAGE_ID = stable_id("stage", HR_PIPELINE_NAME, "Production")
HR_TEST_WORKSPACE_ID = stable_id("workspace", HR_PIPELINE_NAME, "Test")
HR_PROD_WORKSPACE_ID = stable_id("workspace", HR_PIPELINE_NAME, "Production")
# Test content (one item of each Power BI type); Production holds older copies of the first two.
_HR_TEST_CONTENT: tuple[tuple[str, str, int], ...] = (
    ("SemanticModel", "HR Model", 2),
    ("Report", "Headcount", 2),
    ("Dashboard", "HR Dashboard", 1),
    ("Dataflow", "HR Dataflow", 1),
    ("Datamart", "HR Datamart", 1),
)
_HR_PROD_CONTENT: tuple[tuple[str, str, int], ...] = (("SemanticModel", "HR Model", 1), ("Report", "Headcount", 1))
HR_TEST_ITEMS: dict[tuple[str, str], str] = {
    (t, n): stable_id("item", HR_TEST_STAGE_ID, t, n) for t, n, _ in _HR_TEST_CONTENT
}
HR_PROD_ITEMS: dict[tuple[str, str], str] = {
    (t, n): stable_id("item", HR_PROD_STAGE_ID, t, n) for t, n, _ in _HR_PROD_CONTENT
}

HR_REPORTING = SeedPipeline(
    id=HR_PIPELINE_ID,
    display_name=HR_PIPELINE_NAME,
    description="People reports; Development has no workspace yet.",
    stages=(
        SeedStage(HR_DEV_STAGE_ID, "Development", _DEFAULT_DESCRIPTIONS["Development"], None, None),
        SeedStage(
            HR_TEST_STAGE_ID,
            "Test",
            _DEFAULT_DESCRIPTIONS["Test"],
            HR_TEST_WORKSPACE_ID,
            "HR Reporting [Test]",
            items=tuple(
                _item(
                    HR_TEST_STAGE_ID,
                    t,
                    n,
                    v,
                    **({"target_item_id": HR_PROD_ITEMS[(t, n)]} if (t, n) in HR_PROD_ITEMS else {}),
                )
                for t, n, v in _HR_TEST_CONTENT
            ),
        ),
        SeedStage(
            HR_PROD_STAGE_ID,
            "Production",
            _DEFAULT_DESCRIPTIONS["Production"],
            HR_PROD_WORKSPACE_ID,
            HR_PIPELINE_NAME,
            is_public=True,
            items=tuple(
                _item(HR_PROD_STAGE_ID, t, n, v, source_item_id=HR_TEST_ITEMS[(t, n)]) for t, n, v in _HR_PROD_CONTENT
            ),
        ),
    ),
)

FOUR_STAGE_PIPELINE_NAME = "Four Stage Release"
FOUR_STAGE_PIPELINE_ID = stable_id("pipeline", FOUR_STAGE_PIPELINE_NAME)
FOUR_STAGE_NAMES = ("Development", "Test", "Staging", "Production")
# Every stage has a workspace and only the first holds items, so a release can be walked through all
# four stages (the one seeded pipeline of more than three stages whose stages all have workspaces).
FOUR_STAGE_RELEASE = SeedPipeline(
    id=FOUR_STAGE_PIPELINE_ID,
    display_name=FOUR_STAGE_PIPELINE_NAME,
    description="Four stages: Development, Test, Staging and Production.",
    stages=(
        _stage(
            FOUR_STAGE_PIPELINE_NAME,
            "Development",
            items=(("SemanticModel", "Release Model"), ("Report", "Release Overview"), ("Notebook", "Release Checks")),
        ),
        *(_stage(FOUR_STAGE_PIPELINE_NAME, name) for name in FOUR_STAGE_NAMES[1:]),
    ),
)


@dataclass(frozen=True)
class SeedRelation:
    """An edge of the relations APIs: `item_id` depends on `dependent_on_item_id` (both in Development stages)."""

    item_id: str
    dependent_on_item_id: str
    relation_type: str  # a RelationsEdge.relationType of relations.json


# (pipeline, Development items (type, name)), in dependency order.
_CASCADE: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Shared Models",
        (("Lakehouse", "Shared Lakehouse"), ("SemanticModel", "Revenue Model"), ("SemanticModel", "Customer Model")),
    ),
    ("Revenue Reports", (("Report", "Revenue Overview"),)),
    ("Customer Reports", (("Report", "Customer Insights"),)),
    ("Regional Reports", (("Report", "Regional Revenue"), ("Report", "Regional Customers"))),
    ("Executive Reports", (("SemanticModel", "Executive Model"), ("Report", "Executive Summary"))),
    ("Board Pack", (("Report", "Board Summary"),)),
)
CASCADE_PIPELINE_NAMES: tuple[str, ...] = tuple(name for name, _ in _CASCADE)


def cascade_item_id(pipeline: str, item_type: str, name: str) -> str:
    """The id of a cascade pipeline's Development item."""
    return stable_id("item", stable_id("stage", pipeline, "Development"), item_type, name)


def _reads(reader: tuple[str, str, str], *upstream: tuple[str, str, str], kind: str) -> tuple[SeedRelation, ...]:
    return tuple(SeedRelation(cascade_item_id(*reader), cascade_item_id(*u), kind) for u in upstream)


_LAKEHOUSE = ("Shared Models", "Lakehouse", "Shared Lakehouse")
_REVENUE = ("Shared Models", "SemanticModel", "Revenue Model")
_CUSTOMER = ("Shared Models", "SemanticModel", "Customer Model")
_EXECUTIVE = ("Executive Reports", "SemanticModel", "Executive Model")
# The relation types are the spec's (relations.json); which one the service gives a report bound to a
# semantic model is not documented: a soft dependency (WeakAssociation) is this emulator's choice, and a
# model reading a lakehouse a Datasource one.
RELATIONS: tuple[SeedRelation, ...] = (
    *_reads(_REVENUE, _LAKEHOUSE, kind="Datasource"),
    *_reads(_CUSTOMER, _LAKEHOUSE, kind="Datasource"),
    *_reads(("Revenue Reports", "Report", "Revenue Overview"), _REVENUE, kind="WeakAssociation"),
    *_reads(("Customer Reports", "Report", "Customer Insights"), _CUSTOMER, kind="WeakAssociation"),
    *_reads(("Regional Reports", "Report", "Regional Revenue"), _REVENUE, kind="WeakAssociation"),
    *_reads(("Regional Reports", "Report", "Regional Customers"), _CUSTOMER, kind="WeakAssociation"),
    *_reads(_EXECUTIVE, _REVENUE, _CUSTOMER, kind="WeakAssociation"),
    *_reads(("Executive Reports", "Report", "Executive Summary"), _EXECUTIVE, kind="WeakAssociation"),
    *_reads(("Board Pack", "Report", "Board Summary"), _EXECUTIVE, kind="WeakAssociation"),
)

CASCADE_PIPELINES: tuple[SeedPipeline, ...] = tuple(
    SeedPipeline(
        id=stable_id("pipeline", name),
        display_name=name,
        description="A deploy-many cascade pipeline; its items read other pipelines' items.",
        stages=(
            _stage(name, "Development", items=items),
            _stage(name, "Test"),
            _stage(name, "Production"),
        ),
    )
    for name, items in _CASCADE
)

PIPELINES: tuple[SeedPipeline, ...] = (
    SALES_ANALYTICS,
    SeedPipeline(
        id=stable_id("pipeline", "Finance Reporting"),
        display_name="Finance Reporting",
        description="Budget and forecast reports.",
        stages=(
            _stage(
                "Finance Reporting",
                "Dev",
                items=(("Report", "Budget"), ("SemanticModel", "Budget Model")),
            ),
            _stage("Finance Reporting", "Prod"),
        ),
    ),
    SeedPipeline(
        id=stable_id("pipeline", "Marketing"),
        display_name="Marketing",
        description="Campaign reports.",
        stages=(
            _stage("Marketing", "Development", items=(("Report", "Campaigns"),)),
            _stage("Marketing", "Test"),
            _stage("Marketing", "Production"),
        ),
    ),
    SeedPipeline(
        id=stable_id("pipeline", "marketing"),
        display_name="marketing",
        description="A different pipeline whose name differs from 'Marketing' only by case.",
        stages=(
            _stage("marketing", "Development", items=(("Report", "Leads"),)),
            _stage("marketing", "Test", workspace=False),
            _stage("marketing", "Production", workspace=False),
        ),
    ),
    SeedPipeline(
        id=stable_id("pipeline", "Operations Pipeline"),
        display_name="Operations Pipeline",
        description="Four stages; Test has no workspace yet.",
        stages=(
            _stage(
                "Operations Pipeline",
                "Dev",
                items=(("DataPipeline", "Nightly Load"), ("Warehouse", "Operations Warehouse")),
            ),
            _stage("Operations Pipeline", "Test", workspace=False),
            _stage("Operations Pipeline", "UAT"),
            _stage("Operations Pipeline", "Prod"),
        ),
    ),
    HR_REPORTING,
    FOUR_STAGE_RELEASE,
    *CASCADE_PIPELINES,
)

SPARE_WORKSPACES: tuple[tuple[str, str], ...] = tuple(
    (ws_id, f"Spare Workspace {n}") for n, ws_id in enumerate(SPARE_WORKSPACE_IDS, start=1)
)

# Workspaces with an org app (workspace id -> app name): the Production workspaces of two pipelines.
APPS: dict[str, str] = {PROD_WORKSPACE_ID: "Sales Analytics App", HR_PROD_WORKSPACE_ID: "HR Reporting App"}

DIRECTORY: tuple[SeedPrincipal, ...] = (
    SeedPrincipal(USER_PRINCIPAL_ID, "User", USER_DISPLAY_NAME, USER_NAME),
    SeedPrincipal(ANALYST_PRINCIPAL_ID, "User", ANALYST_DISPLAY_NAME, ANALYST_NAME),
    SeedPrincipal(GROUP_PRINCIPAL_ID, "Group", GROUP_NAME),
    SeedPrincipal(BI_DEVELOPERS_GROUP_ID, "Group", BI_DEVELOPERS_GROUP_NAME),
    SeedPrincipal(SERVICE_PRINCIPAL_ID, "ServicePrincipal", SERVICE_PRINCIPAL_NAME),
    SeedPrincipal(OTHER_APP_PRINCIPAL_ID, "ServicePrincipal", OTHER_APP_NAME),
)


def _seeded_workspace_ids() -> tuple[str, ...]:
    ids = [s.workspace_id for p in PIPELINES for s in p.stages if s.workspace_id]
    return (*ids, *SPARE_WORKSPACE_IDS)


WORKSPACE_ROLES: tuple[SeedWorkspaceRole, ...] = (
    *(SeedWorkspaceRole(ws, SERVICE_PRINCIPAL_ID, "ServicePrincipal", "Admin") for ws in _seeded_workspace_ids()),
    SeedWorkspaceRole(DEV_WORKSPACE_ID, USER_PRINCIPAL_ID, "User", "Member"),
)

HISTORY: tuple[SeedHistoryEntry, ...] = (
    SeedHistoryEntry(
        stable_id("history", "1"),
        hours_ago=50.0,
        note="Initial deployment of the sales model",
        items=(("Lakehouse", "Sales Lakehouse"), ("SemanticModel", "Sales Model")),
    ),
    SeedHistoryEntry(
        stable_id("history", "2"),
        hours_ago=26.0,
        note="Sales overview v2",
        items=(("SemanticModel", "Sales Model"), ("Report", "Sales Overview")),
    ),
    SeedHistoryEntry(
        stable_id("history", "3"),
        hours_ago=3.0,
        note="Data preparation notebook",
        items=(("Notebook", "Prepare Data"),),
    ),
)
