"""Inputs for every command, good and bad: mostly a working set of inputs against the emulator with a
few of them broken, so that runs get past validation into sign-in, name resolution and deployment.

Every URL a case can name is loopback: the emulator's, or https://127.0.0.1 on a closed port (and the
network guard in conftest.py refuses anything else, e.g. a cloud's default address).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

from fabric_ci.commands import COMMANDS
from fabric_ci.emulator import seed
from fabric_ci.emulator.sign_in import SIGN_IN_METHODS
from fabric_ci.models.inputs import SECRET_INPUTS, input_names

# Placeholders a case holds until it runs against a live emulator (its port, its files).
EMULATOR_API = "{emulator-api}"  # the API base URL for the case's `api`
EMULATOR_HOST = "{emulator}"
EMULATOR_CA = "{emulator-ca}"
EMULATOR_CERTIFICATE = "{emulator-certificate-pem}"
EMULATOR_PFX = "{emulator-certificate-pfx}"
LATEST_OPERATION = "{latest-operation-id}"
NOT_A_FILE = "/nonexistent/fabric-ci-fuzz/missing.pem"
NOT_PEM = "{not-a-pem-file}"  # an existing file that holds no certificate
CLOSED_PORT = "https://127.0.0.1:1"

# Characters that Python's splitlines() treats as line ends: kept out of the part of a secret that must stay
# on its line, so that each line of a secret is distinctive.
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
# Environment variables hold no NUL, and no lone surrogate survives os.environ; nothing else is excluded.
_ANY_CHAR = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
_LINE_CHAR = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00" + _LINE_BREAKS)
SECRET_MARK = "Zq7"  # starts every line of a generated secret: occurs nowhere else, so any sighting is a leak


@dataclass
class Case:
    """One run of one command: its inputs (kebab-case, as given), the environment, and how it is run."""

    command: str
    inputs: dict[str, str]
    environment: dict[str, str] = field(default_factory=dict)
    runner: str = "github"  # or "terminal"
    json_output: bool = False  # terminal: --output json
    secrets_from_environment: bool = False  # terminal: secret inputs as FABRIC_CI_* variables
    repeat_items: bool = False  # terminal: one --items option per line
    secrets: list[str] = field(default_factory=list)  # distinctive secret values that must never be seen


any_text = st.text(_ANY_CHAR, max_size=40)
one_line = st.text(_LINE_CHAR, min_size=1, max_size=40)
long_text = st.builds(
    lambda unit, n: (unit * n)[: 20 * n], st.text(_ANY_CHAR, min_size=1, max_size=20), st.integers(60, 400)
)
with_newline = st.builds(lambda a, b: f"{a}\n{b}", one_line, one_line)
guid = st.uuids().map(str)

# Each line the mark and at least five more characters: 8 or more in all, so that no other value contains a
# line of it by chance (a 3-character `Zq7` would be inside a pasted `Zq70`, and rightly left there).
distinctive_secret = st.lists(
    st.text(_LINE_CHAR, min_size=5, max_size=30).filter(lambda line: len(line.strip()) >= 5), min_size=1, max_size=3
).map(lambda lines: "\n".join(f"{SECRET_MARK}{line.strip()}" for line in lines))
# Short secrets, ordinary words, and parts of fabric-ci's own words: wrong, so every run refuses them.
awkward_secret = st.sampled_from(
    ["x", "e", "a", "1", "wrong", "the", "id", "client", "secret", "tenant", "expected", "GUID", "Input", "*", "'", "%"]
)

booleans = st.sampled_from(
    ["true", "false", "True", "FALSE", "yes", "no", "1", "0", "tRue", " true ", "true\nfalse", "on"]
)
durations = st.sampled_from(
    [
        "90s",
        "30m",
        "1h",
        "1h30m",
        "5",
        "0s",
        "0",
        "168h",
        "169h",
        "604800",
        "604801",
        "1.5m",
        "-1m",
        "m",
        "1h 30m",
        "10S",
        "²",
        "١٢s",
        "1h\n30m",
        "99999999999999999999s",
        "30m10h",
        "1d",
    ]
)
bad_urls = st.sampled_from(
    [
        "http://127.0.0.1:1/v1",
        "https://",
        "https://127.0.0.1:1/v 1",
        "ftp://127.0.0.1/",
        "127.0.0.1:1",
        "https://127.0.0.1:1\n/v1",
        "https://user:pass@127.0.0.1:1/v1",
        "https://[::1]:1/v1",
        "https://127.0.0.1:99999/v1",
        "https://127.0.0.1:1/v1?x=1#y",
    ]
)
stage_names = st.sampled_from(
    [
        "Development",
        "Test",
        "Production",
        "development",
        "0",
        "1",
        "2",
        "3",
        "-1",
        "١",
        "²",
        "00",
        "Staging",
        seed.DEV_STAGE_ID,
        seed.TEST_STAGE_ID,
        seed.PROD_STAGE_ID,
    ]
)
pipelines = st.sampled_from(
    [
        seed.DEMO_PIPELINE_NAME,
        seed.DEMO_PIPELINE_ID,
        seed.HR_PIPELINE_NAME,
        "sales analytics",
        "Sales Analytic",
        "MARKETING",
        "Finance Reporting",
        "Operations Pipeline",
        "No Such Pipeline",
    ]
)
items_lines = st.sampled_from(
    [
        "Sales Overview",
        "Report: Sales Overview",
        "SemanticModel: Sales Model",
        "Dataset: Customers",
        "Customers",
        "Notebook: Prepare Data",
        "Lakehouse: Sales Lakehouse",
        "# a comment",
        "",
        "Report:",
        ": x",
        "Nothing Here",
        seed.DEV_ITEMS[("Report", "Regional Sales")],
        "Dashboard: Sales Dashboard",
    ]
)
principal_types = st.sampled_from(
    [
        "User",
        "Group",
        "ServicePrincipal",
        "ServicePrincipalProfile",
        "App",
        "group",
        "user",
        "Robot",
        "servicePrincipal",
    ]
)
principals = st.sampled_from(
    [
        seed.USER_PRINCIPAL_ID,
        seed.GROUP_PRINCIPAL_ID,
        seed.ANALYST_PRINCIPAL_ID,
        seed.OTHER_APP_PRINCIPAL_ID,
        seed.BI_DEVELOPERS_GROUP_ID,
        seed.ANALYST_NAME,
        seed.USER_NAME,
        "nobody@contoso.example",
        "not-a-principal",
    ]
)
workspaces = st.sampled_from(
    [*seed.SPARE_WORKSPACE_IDS, seed.TEST_WORKSPACE_ID, seed.DEV_WORKSPACE_ID, seed.PROD_WORKSPACE_ID]
)


def garbage() -> st.SearchStrategy[str]:
    """A value that fits no input: empty, blank, unicode, very long, several lines, a lone GUID."""
    return st.one_of(
        st.just(""),
        st.just("   "),
        any_text,
        long_text,
        with_newline,
        guid,
        st.just("\t\n"),
        st.just("null"),
        st.just("9" * 5000),
        st.just("²"),
        st.just("١"),
    )


def value_for(name: str) -> st.SearchStrategy[str]:
    """Any value for one input: often a plausible one, otherwise malformed or a boundary case."""
    plausible: dict[str, st.SearchStrategy[str]] = {
        "auth": st.sampled_from(
            [
                "auto",
                "secret",
                "certificate",
                "oidc",
                "managed-identity",
                "user-password",
                "SECRET",
                "Auto ",
                "graph",
                "password",
                "msi",
            ]
        ),
        "tenant-id": st.sampled_from(
            [seed.TENANT_ID, seed.TENANT_ID.upper(), "contoso.com", "CONTOSO.COM", "contoso", "a.b"]
        )
        | guid,
        "client-id": st.sampled_from([seed.CLIENT_ID, seed.MANAGED_IDENTITY_CLIENT_ID, seed.CLIENT_ID.upper()]) | guid,
        "client-secret": st.sampled_from([seed.CLIENT_SECRET, f" {seed.CLIENT_SECRET} "]) | distinctive_secret,
        "client-certificate": st.sampled_from(
            [
                EMULATOR_CERTIFICATE,
                EMULATOR_PFX,
                NOT_A_FILE,
                NOT_PEM,
                "cert.pfx",
                "~nobody-here/cert.pem",
                "~/missing.pfx",
                ".",
                "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----",
                "TUlJRXZRSUJBREFOQmdrcWhraUc5dzBCQVFF",
                "%%%not base64%%%",
            ]
        ),
        "client-certificate-password": st.sampled_from([seed.CLIENT_CERTIFICATE_PASSWORD]) | distinctive_secret,
        "client-certificate-send-chain": booleans,
        "oidc-audience": st.sampled_from(["api://AzureADTokenExchange", "api://other", "two words", "x"]),
        "username": st.sampled_from([seed.USER_NAME, "deployer", "a@b@c", "nobody@contoso.example"]),
        "password": st.sampled_from([seed.USER_PASSWORD]) | distinctive_secret,
        "cloud": st.sampled_from(["public", "usgov", "usgovhigh", "usgovdod", "china", "PUBLIC", "germany", "mars"]),
        "api": st.sampled_from(["fabric", "powerbi", "PowerBI", "graph", "fabric "]),
        "api-base-url": st.sampled_from([EMULATOR_API, f"{CLOSED_PORT}/v1", f"{EMULATOR_HOST}/v1/"]) | bad_urls,
        "authority-host": st.sampled_from([EMULATOR_HOST, CLOSED_PORT, f"{EMULATOR_HOST}/"]) | bad_urls,
        "scope": st.sampled_from(
            [
                "https://api.fabric.microsoft.com/.default",
                "https://analysis.windows.net/powerbi/api/.default",
                "api://x/.default",
                "https://api.fabric.microsoft.com",
                "https://other.example/.default",
            ]
        ),
        "ca-bundle": st.sampled_from([EMULATOR_CA, NOT_A_FILE, NOT_PEM, ".", "~nobody-here/ca.pem"]),
        "pipeline": pipelines,
        "source-stage": stage_names,
        "target-stage": stage_names,
        "stage": stage_names,
        "backward": booleans,
        "note": st.one_of(any_text, st.text(_ANY_CHAR, min_size=995, max_size=1030), with_newline),
        "wait": booleans,
        "plan": booleans,
        "plan-compare": st.sampled_from(["none", "definitions", "Definitions", "diff"]),
        "timeout": durations,
        "new-workspace-name": st.one_of(one_line, st.text(_LINE_CHAR, min_size=250, max_size=260)),
        "capacity-id": guid,
        "items": st.one_of(
            st.lists(items_lines, min_size=1, max_size=6).map("\n".join),
            st.integers(290, 340).map(lambda n: "\n".join(f"Item {i}" for i in range(n))),
        ),
        "workspace": workspaces | guid,
        "principal": principals | guid,
        "principal-type": principal_types,
        "role": st.sampled_from(["Admin", "admin", "Member", "Owner"]),
        "workspace-role": st.sampled_from(["Admin", "Member", "Contributor", "Viewer", "contributor", "Owner"]),
        "operation-id": st.sampled_from([LATEST_OPERATION]) | guid,
        # update-stage: names other stages have ("Development"), its own (any case), long ones, blank ones.
        "display-name": st.sampled_from(["QA", "Development", "test", "TEST", "x" * 256, "x" * 257, " "]),
        # update-stage's and create-pipeline's: at the 1024-character limit and past it, blank, any line.
        "description": st.one_of(
            st.sampled_from(["Quality assurance", "", "x" * 1024, "x" * 1025]),
            one_line,
            st.text(_LINE_CHAR, min_size=1020, max_size=1030),
        ),
        "stages": st.one_of(
            st.sampled_from(["Development\nTest\nProduction", "Dev\nProd", "Dev: built here\nProd", "Only", "A\na"]),
            st.lists(stage_names, min_size=0, max_size=12).map("\n".join),
        ),
        "public-stages": stage_names,
        "workspaces": st.one_of(
            st.sampled_from([f"Test: {seed.TEST_WORKSPACE_ID}", f"Test: {seed.SPARE_WORKSPACE_IDS[0]}", "Test: x"]),
            st.tuples(stage_names, workspaces | guid).map(": ".join),
        ),
    }
    good = plausible.get(name, booleans)
    return st.one_of(good, good, good, garbage())


def _base_inputs(command: str, api: str) -> dict[str, str]:
    """Inputs that make the command work against the emulator (before sign-in inputs are added)."""
    stage_zero = "Development" if api == "fabric" else "0"
    common = {"pipeline": seed.DEMO_PIPELINE_NAME}
    by_command = {
        "deploy-all": {"source-stage": stage_zero, "wait": "false"},
        "selective-deploy": {"source-stage": stage_zero, "wait": "false", "items": "Report: Sales Overview"},
        "assign-workspace": {"stage": "Test", "workspace": seed.TEST_WORKSPACE_ID},
        "unassign-workspace": {"stage": "Test"},
        "update-stage": {"stage": "Test", "description": "Quality assurance"},
        "delete-pipeline": {"pipeline": "Finance Reporting" if api == "fabric" else seed.HR_PIPELINE_NAME},
        "create-pipeline": {},  # the demo pipeline, found with its three stages: changed false
        "add-user": {"principal": seed.GROUP_PRINCIPAL_ID, "principal-type": "Group"},
        "remove-user": {"principal": seed.GROUP_PRINCIPAL_ID, "principal-type": "Group"},
        "wait-for-deployment": {"operation-id": LATEST_OPERATION, "timeout": "30m"},
    }
    return {**common, **by_command[command]}


@st.composite
def cases(draw: st.DrawFn, command: str, runner: str | None = None) -> Case:
    """A case for `command`: working inputs with up to four of them changed, removed or broken."""
    model = COMMANDS[command].inputs
    names = input_names(model)
    api = draw(st.sampled_from(["fabric", "fabric", "powerbi"]))
    method = draw(st.sampled_from(SIGN_IN_METHODS))
    inputs = {**_base_inputs(command, api), "{sign-in}": method, "{api}": api}
    if command in ("deploy-all", "selective-deploy") and draw(st.integers(0, 3)) == 0:
        inputs["wait"] = "true"  # waits are short: the emulator and fabric-ci share a virtual clock
        inputs["timeout"] = draw(st.sampled_from(["30m", "10m", "20s"]))
    if command == "add-user" and api == "powerbi":
        inputs["principal"], inputs["principal-type"] = seed.ANALYST_NAME, "User"
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 1, 2, 2, 3, 4]))):
        name = draw(st.sampled_from([*names, "{unknown}"]))
        action = draw(st.sampled_from(["set", "set", "set", "remove"]))
        if name == "{unknown}":
            inputs[draw(st.sampled_from(["colour", "client_secret", "Pipeline", "itemz"]))] = draw(one_line)
        elif action == "remove":
            inputs[name] = ""  # given empty: read as not given
        else:
            inputs[name] = draw(value_for(name))
    secrets: list[str] = []
    if draw(st.integers(0, 3)) == 0:
        # A wrong secret of its own, maybe pasted into another input too (the echo a mask must catch).
        secret = draw(st.one_of(distinctive_secret, awkward_secret))
        inputs["client-secret"] = secret
        inputs.setdefault("auth", "secret")
        if draw(st.booleans()):
            target = draw(st.sampled_from([n for n in names if n not in SECRET_INPUTS]))
            inputs[target] = secret
    for name in SECRET_INPUTS:
        value = inputs.get(name, "")
        if value.strip().startswith(SECRET_MARK):
            secrets.append(value.strip())
    chosen_runner = runner or draw(st.sampled_from(["github", "terminal"]))
    return Case(
        command=command,
        inputs=inputs,
        # The sign-in method's own environment is always there (harness.py); a CI system's OIDC variables
        # may be there as well, whatever the method.
        environment={"{oidc}": draw(st.sampled_from(["", "", "github", "azure-devops"]))},
        runner=chosen_runner,
        json_output=chosen_runner == "terminal" and draw(st.booleans()),
        secrets_from_environment=chosen_runner == "terminal" and draw(st.booleans()),
        repeat_items=draw(st.booleans()),
        secrets=secrets,
    )
