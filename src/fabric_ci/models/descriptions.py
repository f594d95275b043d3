"""What each input and output means, in words: the one source of every action.yml's and task.json's
descriptions (`make generate`), of the command line's help, and of the README's tables.

Written for the GitHub spelling (kebab-case names); the Azure DevOps generator respells the names it
knows (`source-stage` -> `sourceStage`) and takes the few texts that differ there from AZURE_DEVOPS.
A description may differ for one command: (command, input) in INPUT_OVERRIDES.
"""

from __future__ import annotations

INPUTS: dict[str, str] = {
    "auth": (
        "How to sign in to Microsoft Entra ID: `auto` (the default) picks the only method whose inputs "
        "are given, or `oidc` when none are and the job can request an OIDC token; `secret`, "
        "`certificate`, `oidc` (the job's GitHub OIDC token, no secret stored; needs `permissions: "
        "id-token: write`), `managed-identity` (a self-hosted runner on Azure) or `user-password` (no "
        'MFA; kept for migration only). See the README\'s "Sign-in" section.'
    ),
    "tenant-id": (
        "The Microsoft Entra tenant: its id (a GUID) or a verified domain such as `contoso.com`. Required"
        " for every method but managed-identity."
    ),
    "client-id": (
        "The application (client) id of the app registration or service principal, a GUID. With "
        "managed-identity: a user-assigned identity's client id (empty: the system-assigned one). The "
        "tenant must allow service principals to use Fabric APIs, and the principal must be an admin of "
        "the deployment pipeline."
    ),
    "client-secret": (
        "The service principal's client secret (auth: secret). Pass it from a repository or environment "
        "secret, never as plain text; it is masked in the log. Outside Actions it can also come from the "
        "FABRIC_CI_CLIENT_SECRET environment variable."
    ),
    "client-certificate": (
        "The service principal's certificate (auth: certificate): PEM text holding the private key and "
        "its certificate (from a secret), or the workspace path of a .pem or .pfx/.p12 file, or a "
        "base64-encoded .pfx. Masked in the log."
    ),
    "client-certificate-password": "The password of an encrypted private key or of the .pfx file. Masked in the log.",
    "client-certificate-send-chain": (
        "`true` sends the certificate chain with each sign-in (x5c), for an app that trusts the "
        "certificate by subject name and issuer rather than by an uploaded certificate."
    ),
    "oidc-audience": (
        "The audience requested for the CI system's OIDC token; it must match the federated credential's audience."
    ),
    "username": "The user principal name for auth: user-password (an account without MFA).",
    "password": "The user's password for auth: user-password. Masked in the log.",
    "cloud": (
        "The Microsoft cloud: `public` (the default), `usgov` (GCC), `usgovhigh` (GCC High), `usgovdod` "
        "(DoD) or `china`. It sets the sign-in host, and the Power BI API and scope; outside the public "
        "cloud, give the Fabric API's `api-base-url` and `scope` too."
    ),
    "api": (
        "The API to call: `fabric` (the Fabric REST API, the default) or `powerbi` (the Power BI REST "
        "API: three stages by order, the six allow-* options, update-app, admin add-user). See the "
        'README\'s "Fabric or Power BI API" section.'
    ),
    "api-base-url": (
        "Root URL of the API. Empty: the cloud's (https://api.fabric.microsoft.com/v1 in the public "
        "cloud). Set it for a local emulator, or for Fabric outside the public cloud; it must be https."
    ),
    "authority-host": (
        "The Microsoft Entra host that issues tokens. Empty: the cloud's "
        "(https://login.microsoftonline.com in the public cloud). Set it only for a local emulator or an "
        "unusual cloud; it must be https."
    ),
    "scope": (
        "The token scope: the API's Entra ID resource followed by /.default. Empty: the cloud's "
        "(https://api.fabric.microsoft.com/.default for Fabric in the public cloud)."
    ),
    "ca-bundle": (
        "Path (relative to the workspace) of a PEM file of extra CA certificates to trust, for a "
        "TLS-inspecting proxy or an emulator. Empty: the image's public CAs."
    ),
    "pipeline": "The deployment pipeline: its id (a GUID) or its display name (exact, case-insensitive).",
    "source-stage": (
        "The stage to deploy from: its id (a GUID), its display name (case-insensitive), or its 0-based "
        "order (0 is the first stage, usually Development)."
    ),
    "target-stage": (
        "The stage to deploy to: its id, display name or 0-based order. Empty: the stage right after "
        "source-stage (before it, with backward)."
    ),
    "backward": (
        "`true`: deploy to the stage before source-stage (when target-stage is empty). A target stage "
        "before the source is a backward deployment either way; it is allowed only into a stage that "
        "holds no items."
    ),
    "note": (
        "A note stored with the deployment in the pipeline's history (at most 1000 characters; fabric-ci "
        "appends a run marker such as [fabric-ci 1a2b3c4d], by which it recognises the deployment if the "
        "deploy answer is lost)."
    ),
    "wait": (
        "`true` (the default): wait until the deployment ends and fail the step if it fails. `false`: "
        "start it and end the step at once; wait for it later with wait-for-deployment."
    ),
    "timeout": (
        "How long to wait for the deployment. For example `90s`, `30m`, `1h` or `1h30m` (a bare number is"
        " seconds; at most 168h). When it runs out the step fails, but the deployment is left running in "
        "Fabric: wait for it later with wait-for-deployment and the operation-id output."
    ),
    "new-workspace-name": (
        "For a target stage without a workspace: the name of the workspace the deployment creates for it "
        "(the Fabric API's createdWorkspaceDetails, the Power BI API's newWorkspace)."
    ),
    "capacity-id": (
        "The capacity (a GUID) to put the new workspace on, with new-workspace-name. Empty: the service "
        "picks one the caller may use."
    ),
    "update-app": (
        "Power BI API only (api: powerbi). `true`: update the app of the target stage's workspace after "
        "the deployment (items already in the app are updated; new ones are not added). The target "
        "workspace must have a published app."
    ),
    "allow-create-artifact": (
        "Power BI API only. Whether the deployment may create items that the target stage lacks. Empty: true."
    ),
    "allow-overwrite-artifact": (
        "Power BI API only. Whether the deployment may overwrite items in the target stage. Empty: true."
    ),
    "allow-overwrite-target-artifact-label": (
        "Power BI API only. Whether a target item's sensitivity label may be changed (when the source is "
        "labelled and the target is not). Empty: false."
    ),
    "allow-purge-data": (
        "Power BI API only. Whether a target dataset's data may be deleted when its schema no longer "
        "matches the source's. Empty: false."
    ),
    "allow-skip-tiles-with-missing-prerequisites": (
        "Power BI API only. Whether dashboard tiles whose model or report is missing from the target "
        "stage may be skipped. Empty: false."
    ),
    "allow-take-over": (
        "Power BI API only. Whether to become the owner of paginated reports in the target stage that "
        "someone else owns. Empty: false."
    ),
    "allow-cross-region-deployment": (
        "Fabric API only. Whether the target workspace may be on a capacity in another region. Empty: not"
        " sent (the service's default)."
    ),
    "plan": (
        "`true`: send no deployment; say what it would do, item by item (create, overwrite, skipped, "
        "untouched), in the log, the outputs and the summary, and exit 2 if the service would refuse it. "
        "`false` (the default): deploy, after printing the same plan. Neither API has a compare endpoint: "
        'see the README\'s "Plan" section for what a plan can and cannot know.'
    ),
    "plan-compare": (
        "Fabric API only. `definitions`: also fetch each overwritten item's definition and its target's "
        "(getDefinition), and say whether the deployment would change it (`different`, `unchanged`, or "
        "`not comparable` for item types without a definition). Costs at least six requests an item, and "
        "up to half of timeout; the deployment gets the rest. `none` (the default): no comparison."
    ),
    "items": (
        "The items to deploy, one per line, each either an item id (a GUID), `ItemType: display name` "
        "(e.g. `Report: Sales overview`), or a bare display name that is unique in the source stage. "
        "Blank lines and lines starting with # are ignored; at most 300 items. Items are looked up in the"
        " source stage."
    ),
    "stage": (
        "The stage to assign the workspace to: its id (a GUID), its display name (case-insensitive), or "
        "its 0-based order."
    ),
    "workspace": (
        "The id (a GUID) of the workspace to assign. The service principal must be an admin of it, and it"
        " must not be assigned to another stage."
    ),
    "principal": (
        "The Microsoft Entra object id (a GUID) of the user, group, service principal or service "
        "principal profile to add. With api: powerbi a user may be given by user principal name "
        "(user@contoso.com) instead."
    ),
    "principal-type": (
        "The kind of principal: `User`, `Group`, `ServicePrincipal` (the Power BI API's `App`) or "
        "`ServicePrincipalProfile` (Fabric API only); case-insensitive."
    ),
    "role": "The pipeline role to grant: `Admin` (the default, and the only deployment-pipeline role).",
    "admin": (
        "Power BI API only. `true`: add the principal through the admin API, as a Fabric administrator "
        "who need not be a pipeline Admin. That API allows 200 requests per hour per tenant; add-user "
        "spends at most two, retries aside. Empty: false."
    ),
    "workspace-role": (
        "With workspace: the role to give the principal there, `Admin`, `Member`, `Contributor` or "
        "`Viewer` (highest first). A principal holding a lower role is moved up to this one; one holding "
        "a higher role keeps it, with a notice, unless allow-downgrade is `true`."
    ),
    "allow-downgrade": (
        "`true`: a principal holding a higher workspace role than workspace-role is moved down to it. "
        "`false` (the default): it keeps its role, the step succeeds with `changed: false` and a notice "
        "says what was kept. The signed-in principal's own Admin role needs force as well."
    ),
    "force": (
        "`true`, together with allow-downgrade: also lower the Admin role of the principal fabric-ci is "
        "signed in as. Without Admin it can no longer change roles on that workspace, and only another "
        "Admin can undo that; without force, add-user refuses (exit 2) and changes nothing."
    ),
    "description": "The new pipeline's description, at most 1024 characters.",
    "stages": (
        "The stages to create, in order, one per line: `name`, or `name: description`. Fabric API: 2 to 10 "
        "stages, names unique (case-insensitively). Empty: Development, Test, Production. The Power BI API "
        "creates those three itself: leave it empty or give exactly them, without descriptions."
    ),
    "public-stages": (
        "Fabric API only. The stages to make public, one name per line; each must be one of stages. Empty: "
        "none is public, and an existing pipeline's public stages are not compared."
    ),
    "workspaces": (
        "Workspaces to assign, one `stage: workspace id` per line (the stage one of stages, the id a GUID). A "
        "stage that has no workspace is given it; one holding another workspace is an error, nothing changed."
    ),
    "operation-id": (
        "The deployment to wait for: the operation-id output of a deploy-all or selective-deploy step on "
        "the same pipeline (a GUID)."
    ),
    "manifest": (
        "The deployments to run: a YAML (or JSON) document, inline or the path of a file relative to the "
        "working directory (the workspace). `deployments:` lists entries, each with `pipeline`, any "
        "deploy-all input (an `items` key makes it a selective deploy), an optional `name` (needed when a "
        "pipeline appears twice) and `depends-on` (entry names; `auto`, alone or among them, adds the entries "
        "whose items this entry's items read, from the Fabric API's item relations); `defaults:` holds inputs "
        "for every entry."
    ),
    "max-parallel": (
        "How many deployments may run at once (1 to 32; 4, the default), and how many entries' pipelines "
        "(with depends-on: auto, items and relations) are read at once before the first deployment. Two "
        "deployments on the same pipeline never overlap."
    ),
    "on-failure": (
        "When an entry fails: `skip-dependents` (the default: skip what depends on it, run the rest), `stop` (start "
        "nothing new, wait for what runs) or `continue` (run every entry, dependents too)."
    ),
    "limit": "How many of the most recent deployments to list, newest first: 1 to 20 (the service keeps 20).",
}

INPUT_OVERRIDES: dict[tuple[str, str], str] = {
    ("show-pipeline", "items"): (
        "`true`: list each stage's items too, each with the item it is paired with in the next stage (the "
        "one a deployment overwrites). One request per stage either way: the item counts need them."
    ),
    ("status", "operation-id"): "The deployment's operation id (a deploy step's operation-id output).",
    ("add-user", "pipeline"): (
        "The deployment pipeline: its id (a GUID) or its display name (exact, case-insensitive). Required"
        " unless workspace is given."
    ),
    ("add-user", "workspace"): (
        "A workspace id (a GUID): give the principal workspace-role on it too (or only, without "
        "pipeline). Works with either api."
    ),
    ("remove-user", "pipeline"): (
        "The deployment pipeline: its id (a GUID) or its display name (exact, case-insensitive). Required"
        " unless workspace is given."
    ),
    ("remove-user", "principal"): (
        "The Microsoft Entra object id (a GUID) of the user, group, service principal or service "
        "principal profile to remove. With api: powerbi a user is given by user principal name "
        "(user@contoso.com) instead."
    ),
    ("remove-user", "workspace"): (
        "A workspace id (a GUID): take the principal's role off it too (or only, without pipeline). "
        "Works with either api."
    ),
    ("remove-user", "force"): (
        "`true`: also remove the Admin role of the principal fabric-ci is signed in as. Without it, it "
        "can no longer change roles on that pipeline or workspace (nor see the pipeline), and only "
        "another Admin can undo that; without force, remove-user refuses (exit 2) and changes nothing."
    ),
    ("delete-pipeline", "pipeline"): (
        "The deployment pipeline to delete: its id (a GUID) or its display name (exact, case-insensitive). "
        "Deleting loses its stages' deployment history, its deployment rules and the pairing of items between "
        "stages; its workspaces and their content stay, unassigned. A pipeline this principal cannot see (it "
        "sees only those it is an Admin of) is left alone: `changed: false`."
    ),
    ("update-stage", "stage"): (
        "The stage to update: its id (a GUID), its display name (case-insensitive), or its 0-based order."
    ),
    ("update-stage", "display-name"): (
        "The stage's new display name (at most 256 characters), unique among the pipeline's stages "
        "(case-insensitive). Empty: the name is kept."
    ),
    ("update-stage", "description"): (
        "The stage's new description (at most 1024 characters). Empty: the description is kept."
    ),
    ("update-stage", "public"): (
        "`true` makes the stage public, `false` private. Empty: kept. At least one of display-name, "
        "description and public must be given."
    ),
    ("create-pipeline", "pipeline"): (
        "The display name of the pipeline to create (at most 256 characters). A pipeline of that name "
        "(case-insensitive) that exists already is compared instead: the same stages is success with "
        "`changed: false`; different stages, description or public stages are an error showing the "
        "difference (fabric-ci changes none of them)."
    ),
    ("unassign-workspace", "stage"): (
        "The stage to take the workspace off: its id (a GUID), its display name (case-insensitive), or its "
        "0-based order. Unassigning drops the stage's deployment history and deployment rules; a stage "
        "without a workspace is left as it is."
    ),
    ("wait-for-deployment", "timeout"): (
        "How long to wait for the deployment to end. For example `90s`, `30m`, `1h` or `1h30m` (a bare "
        "number is seconds; at most 168h). When it runs out the step fails, but the deployment is left "
        "running in Fabric: run wait-for-deployment again to keep waiting."
    ),
}

OUTPUTS: dict[str, str] = {
    "operation-id": (
        "The deployment's operation id. Set as soon as Fabric accepts the deployment, so it is there even"
        " if the step then fails or times out; pass it to wait-for-deployment."
    ),
    "status": (
        "The deployment's status when the step ended: `NotStarted`, `Running`, `Succeeded` or `Failed`; "
        "`Planned` with plan: true, and when the plan showed the service would refuse it (none was sent)."
    ),
    "pipeline-id": "The deployment pipeline's id.",
    "source-stage-id": "The id of the stage deployed from.",
    "target-stage-id": "The id of the stage deployed to.",
    "deployed-items": (
        "The deployed items as a JSON array of objects {id, name, type, diffState, status}; diffState is "
        "`New`, `Different` or `NoDifference`. Read it with fromJSON()."
    ),
    "duration-seconds": "How long the deployment took, in whole seconds; empty while it is still running.",
    "plan": (
        "What the deployment does (or, with plan: true, would do) to each item: a JSON array of objects "
        "{id, name, type, action, reason, diff, lastDeployed}; action is `create`, `overwrite`, `skipped` or "
        "`untouched` (a target-stage item the deployment leaves as it is); diff, with plan-compare: "
        "definitions, is `different`, `unchanged` or `not comparable`, else null. Read it with fromJSON()."
    ),
    "create": "How many items the deployment creates in the target stage.",
    "overwrite": "How many items the deployment overwrites (those plan-compare found unchanged included).",
    "unchanged": "How many of the overwritten items plan-compare found unchanged (0 without plan-compare).",
    "skipped": "How many source-stage items the deployment leaves out (a selective deployment's unchosen ones).",
    "stage-id": "The id of the stage the workspace is now assigned to.",
    "workspace-id": "The id of the assigned workspace.",
    "principal": "The principal, as given (object id or user principal name).",
    "role": "The role the principal has on the pipeline; empty without pipeline.",
    "workspace-role": "The role the principal has on the workspace; empty without workspace.",
    "changed": "`true` if a role was granted or changed now, `false` if the principal already had them.",
    "removed-role": "The pipeline role taken off the principal now; empty when it had none, or without pipeline.",
    "removed-workspace-role": (
        "The workspace role taken off the principal now; empty when it had none, or without workspace."
    ),
    "stage-ids": (
        'The stages\' ids as a compact JSON object, stage name -> id (`{"Development":"…",…}`). Read it with '
        "fromJSON()."
    ),
}

OUTPUTS["results"] = (
    "Every entry's outcome as a compact JSON object, entry name -> {pipeline-id, operation-id, status "
    "(Succeeded, Failed, TimedOut, Cancelled, Skipped, NotStarted), duration-seconds, deployed-items}. Read "
    "it with fromJSON(). Written again as each deployment is accepted (that entry Running, with its "
    "operation-id), so a step stopped before it ends still names every deployment it started."
)

OUTPUTS["pipelines"] = (
    "The pipelines the principal can see as a compact JSON array of objects {id, name, stageCount, admin}; "
    "stageCount is null where the principal is no Admin (and cannot read the pipeline). Read it with fromJSON()."
)
OUTPUTS["stages"] = (
    "The stages in order as a compact JSON array of objects {id, name, order, workspaceId, workspaceName, "
    "public, itemCount}, with items (each {id, name, type, lastDeployed, pairedId, pairedName}) when "
    "asked for. Read it with fromJSON()."
)
OUTPUTS["deployments"] = (
    "The recent deployments, newest first, as a compact JSON array of objects {id, status, sourceStage, "
    "targetStage, started, durationSeconds, performedBy, note}. Read it with fromJSON()."
)

OUTPUT_OVERRIDES: dict[tuple[str, str], str] = {
    ("status", "status"): (
        "The deployment's status now: `NotStarted`, `Running`, `Succeeded` or `Failed`. The step succeeds "
        "whatever it is: test this output to act on it."
    ),
    ("status", "operation-id"): "The deployment's operation id, as given.",
    ("status", "duration-seconds"): "How long the deployment took, in whole seconds; empty while it runs.",
    ("wait-for-deployment", "status"): (
        "The deployment's status when the step ended: `NotStarted`, `Running`, `Succeeded` or `Failed`."
    ),
    ("add-user", "workspace-id"): "The workspace id; empty without workspace.",
    ("remove-user", "pipeline-id"): "The deployment pipeline's id; empty without pipeline.",
    ("remove-user", "workspace-id"): "The workspace id; empty without workspace.",
    ("remove-user", "changed"): (
        "`true` if a role was removed now, `false` if the principal had no role on the pipeline or workspace."
    ),
    ("delete-pipeline", "pipeline-id"): "The id of the deleted pipeline; empty when no such pipeline was visible.",
    ("delete-pipeline", "changed"): (
        "`true` if the pipeline was deleted now, `false` if this principal saw no such pipeline."
    ),
    ("update-stage", "stage-id"): "The id of the updated stage.",
    ("update-stage", "changed"): (
        "`true` if the stage was updated now, `false` if it already had every value given (no request sent)."
    ),
    ("create-pipeline", "pipeline-id"): "The id of the pipeline, created now or found by its name.",
    ("create-pipeline", "changed"): (
        "`true` if the pipeline was created or a workspace assigned now, `false` if it was all there already."
    ),
    ("unassign-workspace", "stage-id"): "The id of the stage, now without a workspace.",
    ("unassign-workspace", "workspace-id"): (
        "The id of the workspace the stage had before this step; empty when it had none."
    ),
    ("unassign-workspace", "changed"): (
        "`true` if the workspace was unassigned now, `false` if the stage already had no workspace."
    ),
}


# `fabric-ci COMMAND --help`'s examples, two or three a command, each a line as typed at a terminal.
# They assume a profile (`fabric-ci emulator` prints one) or FABRIC_CI_* variables for the connection,
# so they show only what the command itself needs. A command without an entry shows none.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "deploy-all": (
        'fabric-ci deploy-all --profile emulator --pipeline "Sales Analytics" --source-stage Development',
        'fabric-ci deploy-all --pipeline "Sales Analytics" --source-stage Development --plan',
        'fabric-ci deploy-all --pipeline "Sales Analytics" --source-stage Test --no-wait --output json',
    ),
    "selective-deploy": (
        'fabric-ci selective-deploy --pipeline "Sales Analytics" --source-stage Development '
        '--items "Report: Sales Overview" --items "Sales Model"',
        'fabric-ci selective-deploy --pipeline "Sales Analytics" --source-stage Development '
        '--items "Sales Model" --plan',
    ),
    "assign-workspace": (
        'fabric-ci assign-workspace --pipeline "Sales Analytics" --stage Test --workspace "Sales [Test]"',
        'fabric-ci assign-workspace --pipeline "Sales Analytics" --stage Production '
        "--workspace 3f2504e0-4f89-41d3-9a0c-0305e82c3301",
    ),
    "unassign-workspace": (
        'fabric-ci unassign-workspace --pipeline "Sales Analytics" --stage Test',
        'fabric-ci unassign-workspace --pipeline "Sales Analytics" --stage Test --output json',
    ),
    "create-pipeline": (
        'fabric-ci create-pipeline --pipeline "Release Train"',
        'fabric-ci create-pipeline --pipeline "Release Train" --stages Dev --stages Test --stages Prod',
    ),
    "update-stage": (
        'fabric-ci update-stage --pipeline "Sales Analytics" --stage Test --display-name QA',
        'fabric-ci update-stage --pipeline "Sales Analytics" --stage Production --public false',
    ),
    "delete-pipeline": (
        'fabric-ci delete-pipeline --pipeline "Old Sales Analytics"',
        "fabric-ci delete-pipeline --pipeline 8ce96c50-85a0-4db3-85c6-7b4ed2ed9ec3 --output json",
    ),
    "add-user": (
        'fabric-ci add-user --pipeline "Sales Analytics" --principal 6e335e92-a2a2-4b5a-970a-bd6a89fbb765 '
        "--principal-type Group",
        'fabric-ci add-user --pipeline "Sales Analytics" --principal 6e335e92-a2a2-4b5a-970a-bd6a89fbb765 '
        "--principal-type Group --workspace-role Contributor",
    ),
    "remove-user": (
        'fabric-ci remove-user --pipeline "Sales Analytics" --principal 6e335e92-a2a2-4b5a-970a-bd6a89fbb765 '
        "--principal-type Group",
        'fabric-ci remove-user --workspace "Sales [Test]" --principal 6e335e92-a2a2-4b5a-970a-bd6a89fbb765 '
        "--principal-type Group",
    ),
    "deploy-many": (
        "fabric-ci deploy-many --profile emulator --manifest release.yml",
        "fabric-ci deploy-many --manifest release.yml --max-parallel 2 --on-failure stop --output json",
    ),
    "list-pipelines": (
        "fabric-ci list-pipelines --profile emulator",
        "fabric-ci list-pipelines --output json",
    ),
    "show-pipeline": (
        'fabric-ci show-pipeline --pipeline "Sales Analytics"',
        'fabric-ci show-pipeline --pipeline "Sales Analytics" --items',
        'fabric-ci show-pipeline --pipeline "Sales Analytics" --output json',
    ),
    "history": (
        'fabric-ci history --pipeline "Sales Analytics"',
        'fabric-ci history --pipeline "Sales Analytics" --limit 3 --output json',
    ),
    "status": (
        'fabric-ci status --pipeline "Sales Analytics" --operation-id 5d2c6a4e-0b1f-4c3e-9a8d-7e6f5a4b3c2d',
        'fabric-ci status --pipeline "Sales Analytics" --operation-id 5d2c6a4e-0b1f-4c3e-9a8d-7e6f5a4b3c2d '
        "--output json",
    ),
    "wait-for-deployment": (
        'fabric-ci wait-for-deployment --pipeline "Sales Analytics" '
        "--operation-id 5d2c6a4e-0b1f-4c3e-9a8d-7e6f5a4b3c2d",
        'fabric-ci wait-for-deployment --pipeline "Sales Analytics" '
        "--operation-id 5d2c6a4e-0b1f-4c3e-9a8d-7e6f5a4b3c2d --timeout 30m",
    ),
}
