"""Where the emulator listens and the names it is reached by: any bound address, the host names in
its certificate, every URL it hands out naming the first host name, and the state folder's paths
shown relative to the working directory. Traffic goes to loopback addresses only."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from fabric_ci.emulator import Emulator, EmulatorConfig
from fabric_ci.emulator.cli import banner, ready_details
from fabric_ci.emulator.seed import DEMO_PIPELINE_ID, DEV_STAGE_ID, TENANT_ID, TEST_STAGE_ID
from fabric_ci.emulator.server import StartError
from tests.support.emulator_client import EmulatorClient

EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - binding to it is what these tests allow


def served_names(emulator: Emulator, server_hostname: str, address: str = "127.0.0.1") -> list[str]:
    """The server certificate's DNS and IP names, read over a TLS connection to `address` that
    verifies the certificate against the emulator's CA for `server_hostname`."""
    context = ssl.create_default_context(cafile=emulator.ca_path)
    with (
        socket.create_connection((address, emulator.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=server_hostname) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    names = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return [*names.value.get_values_for_type(x509.DNSName), *map(str, names.value.get_values_for_type(x509.IPAddress))]


@pytest.fixture
def named(tmp_path: Path) -> Iterator[Emulator]:
    """An emulator on every interface, reached as localhost (first, so that loopback works) or emulator."""
    config = EmulatorConfig(host=EVERY_INTERFACE, hostnames=("Localhost", "emulator"), state_dir=tmp_path / "state")
    with Emulator(config) as emu:
        yield emu


def test_the_certificate_carries_every_hostname_and_loopback_but_no_wildcard(named: Emulator) -> None:
    """TLS verifies for each host name given and for 127.0.0.1; 0.0.0.0 is no name to put in a certificate."""
    assert served_names(named, "emulator") == ["localhost", "emulator", "127.0.0.1"]
    assert served_names(named, "localhost") == served_names(named, "127.0.0.1")
    with pytest.raises(ssl.SSLCertVerificationError):
        served_names(named, "other.example")


def test_every_url_names_the_first_hostname(named: Emulator) -> None:
    """Inputs, the CI and IMDS stand-ins' URLs and the issuers name https://localhost:<port>, not the address."""
    root = f"https://localhost:{named.port}"
    assert named.hostnames == ("localhost", "emulator")
    assert named.listen_address == EVERY_INTERFACE
    assert (named.url, named.authority_host) == (root, root)
    assert (named.api_base_url, named.powerbi_base_url) == (f"{root}/v1", f"{root}/v1.0/myorg")
    assert named.inputs()["api-base-url"] == f"{root}/v1"
    assert named.inputs()["authority-host"] == root
    assert named.github_request_url.startswith(f"{root}/_github/")
    assert named.azure_devops_request_uri.startswith(f"{root}/_azure-devops/")
    assert named.github_issuer.startswith(f"{root}/")
    assert named.azure_devops_issuer.startswith(f"{root}/")
    assert named.sign_in("managed-identity").environment == {"AZURE_POD_IDENTITY_AUTHORITY_HOST": root}


def test_the_discovery_document_and_lro_location_name_the_first_hostname(named: Emulator) -> None:
    """What a client follows (token endpoint, issuer, Location) names the host name, reached over loopback."""
    root = f"https://localhost:{named.port}"
    client = EmulatorClient(named)
    try:
        discovery = client.http.get(f"{root}/{TENANT_ID}/v2.0/.well-known/openid-configuration").json()
        assert discovery["token_endpoint"] == f"{root}/{TENANT_ID}/oauth2/v2.0/token"
        assert discovery["issuer"] == f"{root}/{TENANT_ID}/v2.0"
        deployed = client.call(
            "POST",
            f"/deploymentPipelines/{DEMO_PIPELINE_ID}/deploy",
            {"sourceStageId": DEV_STAGE_ID, "targetStageId": TEST_STAGE_ID},
        )
    finally:
        client.close()
    assert deployed.status_code == 202, deployed.text
    assert deployed.headers["Location"] == f"{root}/operations/{deployed.headers['x-ms-operation-id']}"


def test_a_wildcard_without_hostnames_hands_out_loopback_urls(tmp_path: Path) -> None:
    """Bound to 0.0.0.0 with no host name, the URLs name 127.0.0.1, which reaches it."""
    with Emulator(EmulatorConfig(host=EVERY_INTERFACE, state_dir=tmp_path)) as emu:
        assert emu.url == f"https://127.0.0.1:{emu.port}"
        assert served_names(emu, "127.0.0.1") == ["localhost", "127.0.0.1"]


def test_a_concrete_address_is_in_the_certificate_and_the_urls(tmp_path: Path) -> None:
    """Bound to one address (here another loopback one), the URLs and the certificate name it."""
    with Emulator(EmulatorConfig(host="127.0.0.2", state_dir=tmp_path)) as emu:
        assert emu.url == f"https://127.0.0.2:{emu.port}"
        assert served_names(emu, "127.0.0.2", address="127.0.0.2") == ["localhost", "127.0.0.1", "127.0.0.2"]


def test_the_ipv6_wildcard_serves_both_families(tmp_path: Path) -> None:
    """Bound to ::, it answers on 127.0.0.1 (the URLs' host) and on ::1, both in the certificate."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        emulator = Emulator(EmulatorConfig(host="::", state_dir=tmp_path)).start()
    except StartError as error:  # a machine without an IPv6 stack cannot bind ::
        pytest.skip(f"cannot bind :: here: {error}")
    with emulator:
        assert emulator.url == f"https://127.0.0.1:{emulator.port}"
        assert served_names(emulator, "::1", address="::1") == ["localhost", "127.0.0.1", "::1"]
        with httpx.Client(verify=ssl.create_default_context(cafile=emulator.ca_path)) as http:
            assert http.get(f"{emulator.url}/_emulator/inject").status_code == 200
            assert http.get(f"https://[::1]:{emulator.port}/_emulator/inject").status_code == 200


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (EmulatorConfig(host="emulator"), "expected an IP address to listen on"),
        (EmulatorConfig(hostnames=("my_service",)), "a certificate cannot name '_'"),
        (EmulatorConfig(hostnames=("-bad",)), "expected a host name"),
    ],
)
def test_a_bad_address_or_hostname_is_refused_before_listening(config: EmulatorConfig, message: str) -> None:
    """Emulator(...) raises ValueError for a host that is no IP address or a name no certificate can hold."""
    with pytest.raises(ValueError, match=message):
        Emulator(config)


def test_state_paths_are_shown_relative_to_the_working_directory_inside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Banner and ready file show .fabric-ci-emulator/ca.pem when the folder is under the working directory."""
    monkeypatch.chdir(tmp_path)
    with Emulator(EmulatorConfig(state_dir=(tmp_path / ".fabric-ci-emulator").resolve())) as emu:
        details = ready_details(emu)
        text = banner(emu)
    assert details["ca-bundle"] == ".fabric-ci-emulator/ca.pem"
    assert details["state-dir"] == str((tmp_path / ".fabric-ci-emulator").resolve())
    assert details["sign-in"]["secret"]["inputs"]["ca-bundle"] == ".fabric-ci-emulator/ca.pem"
    certificate = details["sign-in"]["certificate"]["inputs"]["client-certificate"]
    assert certificate == ".fabric-ci-emulator/client-certificate.pem"
    assert "    ca-bundle: .fabric-ci-emulator/ca.pem\n" in text
    assert "--ca-bundle .fabric-ci-emulator/ca.pem" in text
    assert "client-certificate: .fabric-ci-emulator/client-certificate.pem" in text
    assert str(tmp_path) not in text


def test_state_paths_outside_the_working_directory_stay_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A state folder elsewhere is shown by its absolute path, which is what names it from here."""
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    state = (tmp_path / "state").resolve()
    with Emulator(EmulatorConfig(state_dir=state)) as emu:
        details = ready_details(emu)
        first_line = banner(emu).splitlines()[0]
    assert details["ca-bundle"] == str(state / "ca.pem")
    assert details["state-dir"] == str(state)
    assert first_line.startswith(f"fabric-ci emulator listening on {details['url']} (Fabric API: ")


def test_state_paths_stay_absolute_when_the_working_directory_is_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a container without WORKDIR (working directory /), paths are not shown relative to the root."""
    monkeypatch.chdir("/")
    state = (tmp_path / "state").resolve()
    with Emulator(EmulatorConfig(state_dir=state)) as emu:
        assert ready_details(emu)["ca-bundle"] == str(state / "ca.pem")


def test_the_banner_names_the_bound_address_and_the_url_when_they_differ(named: Emulator) -> None:
    """On 0.0.0.0 reached as localhost, the first line says both."""
    assert banner(named).splitlines()[0] == (
        f"fabric-ci emulator listening on 0.0.0.0:{named.port} as https://localhost:{named.port} "
        f"(Fabric API: https://localhost:{named.port}/v1)"
    )
