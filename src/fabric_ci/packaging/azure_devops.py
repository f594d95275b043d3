"""The Azure DevOps tasks: `azure-devops-task/<TaskName>/task.json` for the agent and the classic editor,
and `fabric-ci.json` beside it, which tells the Node wrapper (azure-devops-task/src) the command, the
input names of the core, and which inputs are secrets.

Every input of the command, camelCased by one rule (fabric_ci.commands.camel_case), with the same
defaults and meaning as on GitHub, plus the wrapper's own: the two service connections and where
the Python core comes from (`runtime`, `pythonPath`). The schema and its traps: tasks.schema.json
in the shared specs (`required` a JSON boolean, `defaultValue` a string, names `^[A-Za-z][A-Za-z0-9]*$`).
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any, Literal

from fabric_ci import __version__
from fabric_ci.commands import COMMANDS, TASK_SPELLINGS, Command, camel_case, respell
from fabric_ci.models.apis import APIS
from fabric_ci.models.inputs import SECRET_INPUTS
from fabric_ci.packaging.names import default_text, field_of, label

FOLDER = "azure-devops-task"
# Agents cache tasks by version, so every release must raise it. The major version is the task's own
# (inputs may change incompatibly only with a new major, which users pin: `FabricCiDeployAll@1`);
# minor and patch follow fabric-ci's own version while it is 0.x.
TASK_MAJOR = 1
MINIMUM_AGENT = "4.248.0"  # the first agent with the Node20_1 handler
# The image `runtime: docker` runs, pinned by digest: None on main, where no image is published for the
# version yet, and the wrapper then says that docker is not available rather than pulling a name that
# resolves to nothing. The release commit writes the published one (`--image`, docs/releasing.md).
RELEASE_IMAGE: str | None = None
CONNECTION_TYPE = "fabric-ci"  # the extension's own service endpoint type (vss-extension.json)

# The inputs that make a sign-in of their own: given together with a service connection, they are a
# second source, which the wrapper refuses.
SIGN_IN = (
    "auth",
    "tenant-id",
    "client-id",
    "client-secret",
    "client-certificate",
    "client-certificate-password",
    "username",
    "password",
)
# The classic editor's Sign-in group: those, and what tunes a sign-in.
SIGN_IN_GROUP = frozenset({*SIGN_IN, "client-certificate-send-chain", "oidc-audience", "cloud"})
POWERBI_GROUP = tuple(sorted(APIS["powerbi"].own_inputs))
ADVANCED_GROUP = (
    "backward",
    "new-workspace-name",
    "capacity-id",
    "allow-cross-region-deployment",
    "allow-downgrade",
    "force",
    "api-base-url",
    "authority-host",
    "scope",
    "ca-bundle",
)
MULTILINE = frozenset({"items", "client-certificate", "stages", "public-stages", "workspaces"})
# No input is a `filePath`: the agent never passes one empty, it roots an empty value at the sources
# directory (TaskRunner.TranslateFilePathInput), so an optional `ca-bundle` would always be "given".

# Where Azure Pipelines needs other words than GitHub: secrets come from secret variables, the job's
# identity from a service connection, and JSON is read in a script step.
AZURE_DEVOPS: dict[str, str] = {
    "auth": (
        "How to sign in to Microsoft Entra ID. With azureSubscription or fabricConnection leave it `auto`: the "
        "service connection decides. Otherwise `auto` (the default) picks the only method whose inputs are "
        "given; `secret`, `certificate`, `managed-identity` (an agent on Azure) or `user-password` (no MFA; "
        "kept for migration only). For sign-in without a secret, use an Azure Resource Manager connection "
        "with workload identity federation in azureSubscription."
    ),
    "client-secret": (
        "The service principal's client secret (auth: secret). Pass it from a secret variable, "
        "`clientSecret: $(fabricClientSecret)`, never as plain text; it is masked in the log."
    ),
    "client-certificate": (
        "The service principal's certificate (auth: certificate): PEM text holding the private key and its "
        "certificate (from a secret variable), or the path of a .pem or .pfx/.p12 file (for example a secure "
        "file's `$(cert.secureFilePath)`), or a base64-encoded .pfx. Masked in the log."
    ),
    "ca-bundle": (
        "Path of a PEM file of extra CA certificates to trust, for a TLS-inspecting proxy or an emulator. "
        "Empty: the agent's own CA file when it has one (its --sslcacert setting), else the public CAs."
    ),
}
AZURE_DEVOPS_OUTPUTS: dict[str, str] = {
    "deployed-items": (
        "The deployed items as a JSON array of objects {id, name, type, diffState, status}; diffState is "
        "`New`, `Different` or `NoDifference`. Read it in a script step (`ConvertFrom-Json`, `jq`)."
    ),
}

GROUPS = [
    {"name": "signIn", "displayName": "Sign-in", "isExpanded": True},
    {"name": "powerbi", "displayName": "Power BI API options", "isExpanded": False, "visibleRule": "api = powerbi"},
    {"name": "advanced", "displayName": "Advanced", "isExpanded": False},
]
CONNECTION_INPUTS: list[dict[str, Any]] = [
    {
        "name": "azureSubscription",
        "type": "connectedService:AzureRM",
        "label": "Azure Resource Manager connection",
        "required": False,
        "groupName": "signIn",
        "helpMarkDown": (
            "An Azure Resource Manager service connection whose service principal or managed identity signs in: "
            "workload identity federation (no secret; a fresh token for every sign-in), a service principal "
            "with a secret or certificate, or a managed identity. Give this, fabricConnection, or the sign-in "
            "inputs below: exactly one."
        ),
    },
    {
        "name": "fabricConnection",
        "type": f"connectedService:{CONNECTION_TYPE}",
        "label": "Fabric connection",
        "required": False,
        "groupName": "signIn",
        "helpMarkDown": (
            "A fabric-ci service connection (service principal with a secret, or username and password), for "
            "teams without an Azure Resource Manager connection; it also names the cloud."
        ),
    },
]
RUNTIME_INPUTS: list[dict[str, Any]] = [
    {
        "name": "runtime",
        "type": "pickList",
        "label": "Runtime",
        "defaultValue": "auto",
        "required": False,
        "groupName": "advanced",
        "options": {
            "auto": "auto: installed, then python, then docker",
            "installed": "installed: fabric-ci on PATH",
            "python": "python: a Python 3.11+ on the agent",
            "docker": "docker: the fabric-ci image (Linux agents)",
        },
        "helpMarkDown": (
            "Where the fabric-ci core comes from. `installed`: `fabric-ci` on PATH, at this task's version (a "
            "container job in the fabric-ci image, or an agent where it was installed). `python`: a Python 3.11 "
            "or newer on the agent (pythonPath, else UsePythonVersion's, else python3/python/py -3); the task "
            "makes a virtual environment once per agent and version, with the dependencies from the agent's "
            "package index (PIP_INDEX_URL or pip's own configuration), pinned by hash. `docker`: the fabric-ci "
            "image, on Linux agents. `auto`: the first of these that works."
        ),
    },
    {
        "name": "pythonPath",
        "type": "string",
        "label": "Python",
        "required": False,
        "groupName": "advanced",
        "helpMarkDown": (
            "The Python 3.11+ to use with runtime python or auto; one that does not work is an error, also "
            "with auto. Empty: see runtime."
        ),
    },
]


def task_version() -> dict[str, int]:
    major, minor, patch = (int(part) for part in __version__.split(".")[:3])
    assert major == 0, "fabric-ci 1.0: decide how task versions follow (they must keep rising)"
    return {"Major": TASK_MAJOR, "Minor": minor, "Patch": patch}


def _leaves(annotation: object) -> list[object]:
    """The types and literal values inside an annotation (Optional, Annotated, Literal unpacked)."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return list(typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        args = typing.get_args(annotation)
        args = args[:1] if origin is typing.Annotated else args
        return [leaf for arg in args for leaf in _leaves(arg)]
    return [annotation]


def _help(text: str) -> str:
    """A GitHub-spelled text in Azure Pipelines words: every input and output camelCased, every
    command named by its task (`wait-for-deployment` -> `FabricCiWaitForDeployment`)."""
    names = {name for c in COMMANDS.values() for name in (*c.input_names, *c.outputs)}
    return respell(text, names, TASK_SPELLINGS)


def _input(command: Command, name: str) -> dict[str, Any]:
    field = field_of(command, name)
    leaves = [leaf for leaf in _leaves(field.annotation) if leaf is not type(None)]
    spec: dict[str, Any] = {"name": camel_case(name), "label": label(name)}
    default = default_text(command, name)
    if leaves == [bool] and default is not None:
        spec["type"] = "boolean"
    elif leaves == [bool]:
        # Not given means "the service's default", which a checkbox cannot say: true, false or nothing.
        spec["type"] = "pickList"
        spec["options"] = {"true": "true", "false": "false"}
    elif leaves and all(isinstance(leaf, str) for leaf in leaves):
        spec["type"] = "pickList"
        spec["options"] = {str(leaf): str(leaf) for leaf in leaves}
    elif name in MULTILINE:
        spec["type"] = "multiLine"
    else:
        spec["type"] = "string"
    if default is not None:
        spec["defaultValue"] = default
    spec["required"] = field.is_required()
    if name in SIGN_IN_GROUP:
        spec["groupName"] = "signIn"
    elif name in POWERBI_GROUP:
        spec["groupName"] = "powerbi"
    elif name in ADVANCED_GROUP:
        spec["groupName"] = "advanced"
    if name in APIS["fabric"].own_inputs:
        spec["visibleRule"] = "api = fabric"
    spec["helpMarkDown"] = _help(AZURE_DEVOPS.get(name) or command.input_description(name))
    return spec


def friendly_name(command: Command) -> str:
    return f"Fabric pipeline: {command.title}"


def task_json(command: Command) -> dict[str, Any]:
    inputs = [_input(command, name) for name in command.input_names]
    sign_in_at = next(i for i, spec in enumerate(inputs) if spec.get("groupName") == "signIn")
    inputs[sign_in_at:sign_in_at] = CONNECTION_INPUTS
    return {
        "$schema": "https://raw.githubusercontent.com/Microsoft/azure-pipelines-task-lib/master/tasks.schema.json",
        "id": command.task_id,
        "name": command.task_name,
        "friendlyName": friendly_name(command),
        "description": _help(command.description),
        "helpMarkDown": (
            f"fabric-ci {__version__}: `{command.task_name}@{TASK_MAJOR}`. Every input and output is described "
            "in the fabric-ci README, section Azure Pipelines."
        ),
        "category": "Deploy",
        "author": "fabric-ci",
        "version": task_version(),
        "minimumAgentVersion": MINIMUM_AGENT,
        "instanceNameFormat": command.instance_name,
        "groups": GROUPS,
        "inputs": inputs + RUNTIME_INPUTS,
        "outputVariables": [
            {
                "name": camel_case(name),
                "description": _help(AZURE_DEVOPS_OUTPUTS.get(name) or command.output_description(name)),
            }
            for name in command.outputs
        ],
        "execution": {"Node20_1": {"target": "index.js"}, "Node24": {"target": "index.js"}},
    }


def wrapper_json(command: Command, image: str | None = RELEASE_IMAGE) -> dict[str, Any]:
    """What the Node wrapper needs and cannot read from task.json (the contract: azure-devops-task/README.md).
    `image`: what `docker run` takes, `ghcr.io/<owner>/fabric-ci@sha256:...`."""
    return {
        "command": command.name,
        "version": __version__,
        "image": image,
        "inputs": {camel_case(name): name for name in command.input_names},
        "secrets": [camel_case(name) for name in command.input_names if name in SECRET_INPUTS],
        "signIn": [camel_case(name) for name in SIGN_IN if name in command.input_names],
        "outputs": {camel_case(name): name for name in command.outputs},
    }


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def files(image: str | None = RELEASE_IMAGE) -> dict[str, str]:
    written: dict[str, str] = {}
    for command in COMMANDS.values():
        written[f"{FOLDER}/{command.task_name}/task.json"] = _dump(task_json(command))
        written[f"{FOLDER}/{command.task_name}/fabric-ci.json"] = _dump(wrapper_json(command, image))
    return written
