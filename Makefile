# Two commands from a fresh clone: `make demo` and `make test`. Everything they need is
# installed here, into .venv, from hash-pinned locks (the same locks the image uses).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# fabric-ci's dependencies as wheels for this machine, downloaded with the locks' hashes: the Azure
# DevOps task's end-to-end tests serve them as a package index on loopback, so that a real pip
# install into a real venv runs without a test reaching PyPI.
WHEELHOUSE := .cache/wheelhouse

.PHONY: demo specs test lint typecheck bench chaos fuzz lock generate clean shells

# The interpreter's version, and the version .venv was built with: a .venv from another Python
# (an upgrade, or another PYTHON=) holds compiled wheels for the wrong ABI, so it is rebuilt.
PYTHON_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)
VENV_VERSION := $(shell $(BIN)/python -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)
ifneq ($(VENV_VERSION),)
ifneq ($(PYTHON_VERSION),)
ifneq ($(VENV_VERSION),$(PYTHON_VERSION))
$(shell rm -f $(STAMP))
endif
endif
endif

$(STAMP): requirements/dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "fabric-ci needs Python 3.11 or newer; '$(PYTHON)' is $(or $(PYTHON_VERSION),not a Python that runs)."; \
		echo "Point PYTHON at another one, e.g. make PYTHON=python3.12 $(MAKECMDGOALS)"; exit 1; }
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(WHEELHOUSE)/.downloaded: requirements/runtime.lock $(STAMP)
	$(BIN)/python -m pip download --quiet --disable-pip-version-check --require-hashes --only-binary=:all: \
		-r requirements/runtime.lock -d $(WHEELHOUSE)
	touch $@

## Start the built-in emulator, deploy Development -> Test on the demo pipeline and wait.
demo: $(STAMP)
	$(BIN)/python -m fabric_ci.demo

## Microsoft's REST spec files for the tests: $FABRIC_CI_SPECS or ../shared/specs if there, else downloaded into
## .cache/specs from the commits pinned in tests/support/spec-files.json (each checked against its SHA-256).
specs: $(STAMP)
	$(BIN)/python -m tests.support.spec_files

## Every test: unit, contract (against Microsoft's specs: make specs) and end to end (real subprocesses), the Azure DevOps
## wrapper's own (node-test), and the tasks out of the built vsix as the agent runs them.
test: $(STAMP) specs lint vsix node-test $(WHEELHOUSE)/.downloaded shells
	$(BIN)/python -m pytest

## zsh and fish, which the completion tests load their scripts into (bash is the Makefile's own).
shells:
	@command -v zsh >/dev/null && command -v fish >/dev/null || docker/dockerd.sh install zsh fish

lint: $(STAMP) specs
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/check-jsonschema --builtin-schema vendor.github-actions action.yml */action.yml
	$(BIN)/check-jsonschema --regex-variant python \
		--schemafile "$$($(BIN)/python -m tests.support.spec_files --print-dir)/azure-pipelines/tasks.schema.json" \
		azure-devops-task/*/task.json
	$(BIN)/hadolint Dockerfile docker/runner.Dockerfile
	$(BIN)/shellcheck docker/*.sh .ci/run
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
# actionlint takes a Docker action's `entrypoint` for a file beside action.yml; ours is the command in the image.
	$(BIN)/actionlint -shellcheck=$(BIN)/shellcheck \
		-ignore 'file "fabric-ci" does not exist in ".+"\. it is specified at "entrypoint" key' .github/workflows/*.yml
	env -u GH_TOKEN -u GITHUB_TOKEN -u ZIZMOR_GITHUB_TOKEN $(BIN)/zizmor --offline --quiet .github

## Figures, not assertions: waiting side by side with the 5 s and Retry-After pollers, a demo
## deploy-all with wait as a real process, deploy-many over a 10-pipeline cascade against its critical
## path and against 10 deploy-all processes one by one, each sign-in method, the Azure DevOps task's start-up
## (fresh agent, cached venv, the core directly), and the image's (docker run to the first request).
bench: $(STAMP) vsix $(WHEELHOUSE)/.downloaded image
	$(BIN)/python bench/wait_strategies.py
	$(BIN)/python bench/deploy_wait.py
	$(BIN)/python bench/deploy_many.py
	$(BIN)/python -m bench.shared_budget
	$(BIN)/python bench/sign_in.py
	$(BIN)/python -m bench.azure_devops_task
	$(BIN)/python -m bench.image_start --image $(IMAGE)

## 500 deployments with about a quarter of all requests faulted, in-process in virtual time (make test runs a slice).
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos --deployments 500

## Property-based runs of every command in both runners, at full size: over 10,000 cases, the same ones on
## every machine (make test runs a slice of them). The summary ends with `fuzz: <cases> cases in <s> s`.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/fuzz -m fuzz -q -p no:cacheprovider --timeout=7200

## Write every action.yml and the Azure DevOps task files from the command registry (fabric_ci/commands.py).
generate: $(STAMP)
	$(BIN)/python -m fabric_ci.packaging

## Re-resolve the locks after changing dependencies in pyproject.toml.
lock:
	uv pip compile pyproject.toml requirements/build.in --generate-hashes --universal --python-version 3.11 -q -o requirements/runtime.lock
	uv pip compile pyproject.toml requirements/build.in --extra dev --generate-hashes --universal --python-version 3.11 -q -o requirements/dev.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# --- Azure DevOps extension (azure-devops-task/): the Node wrapper, its tests, the .vsix ---------------
NODE_DIR := azure-devops-task
NODE_STAMP := $(NODE_DIR)/node_modules/.npm-ci-stamp

.PHONY: vsix node-test

$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund
	touch $@

## The wrapper's tests (npm test): type-checked, unit and L0 (task-lib's mock runner, real child processes).
node-test: $(NODE_STAMP)
	cd $(NODE_DIR) && npm test

## dist/fabric-ci-<version>.vsix: every task folder (task.json, fabric-ci.json, one bundled index.js, icon,
## the fabric-ci wheel, runtime.lock) and the fabric-ci service connection type. Prints the sizes.
vsix: $(STAMP) $(NODE_STAMP)
	cd $(NODE_DIR) && npm run --silent typecheck && npm run --silent bundle
	rm -rf build/wheel
	$(BIN)/python -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation -w build/wheel .
	node $(NODE_DIR)/scripts/build.mjs vsix

# --- The image and the actions, run for real (docker/) --------------------------------------------
# `make image` and `make e2e-actions` start a Docker daemon when none answers (installing Debian's
# docker.io first where it is missing) and leave it running; `make docker-stop` stops the one they
# started, by its PID. .ci/run does both.
IMAGE ?= fabric-ci:dev
# A CA for pip inside the image build (a TLS-inspecting proxy), handed over as a BuildKit secret.
CA_BUNDLE ?= $(or $(PIP_CERT),$(SSL_CERT_FILE))

.PHONY: image e2e-actions docker-stop

## The fabric-ci image from the Dockerfile; where no registry is reachable its base is built from Debian's packages.
image:
	docker/dockerd.sh start
	CA_BUNDLE="$(CA_BUNDLE)" docker/image.sh $(IMAGE)

## Every action folder and the root action as GitHub runs them (act on .github/workflows/actions.yml),
## then the image on a bridge network, the way GitHub's runner connects a container action to a service.
e2e-actions: image $(STAMP) vsix
	docker/act.sh $(IMAGE)
	FABRIC_CI_IMAGE=$(IMAGE) FABRIC_CI_DOCKER="$$(docker/dockerd.sh client)" $(BIN)/python -m pytest tests/image -q

docker-stop:
	docker/dockerd.sh stop
