"""`campusca smime …`: issue a person's S/MIME pair; sign, encrypt, verify and decrypt RFC 5322 messages."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import BinaryIO

import typer
from cryptography.hazmat.primitives import serialization

from campusca.cli._common import CLI_ACTOR, emit_json, fail, state
from campusca.pki.certificates import openssl_serial
from campusca.services import smime

smime_app = typer.Typer(
    help="S/MIME: issue signing + encryption certificates; sign, encrypt, verify, decrypt messages.",
    no_args_is_help=True,
)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")
P12 = typer.Option(..., "--p12", help="Your PKCS#12 file (from 'smime issue' or a recovery)")
P12_PASSWORD = typer.Option(None, "--password", help="PKCS#12 password (prompted when absent)")
OUT = typer.Option(None, "--out", help="Write the result here (default: standard output)")


def read_input(path: Path) -> bytes:
    if str(path) == "-":
        return sys.stdin.buffer.read()
    try:
        return path.read_bytes()
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror}")
        raise  # unreachable: fail() exits


def open_new(path: Path) -> BinaryIO:
    """Create a file that must not exist yet, readable by the owner only (it may hold keys)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fail(f"{path} exists; refusing to overwrite it")
        raise
    except OSError as error:
        fail(f"cannot write {path}: {error.strerror}")
        raise
    return os.fdopen(fd, "wb")


def write_new(path: Path, data: bytes) -> None:
    with open_new(path) as handle:
        handle.write(data)


def create_files(paths: list[Path]) -> list[BinaryIO]:
    """Create every file before an issuance or release, so a file that cannot be written changes nothing."""
    handles: list[BinaryIO] = []
    try:
        for path in paths:
            handles.append(open_new(path))
    except BaseException:
        discard_files(paths[: len(handles)], handles)
        raise
    return handles


def discard_files(paths: list[Path], handles: list[BinaryIO]) -> None:
    for path, handle in zip(paths, handles, strict=True):
        handle.close()
        path.unlink(missing_ok=True)


def write_output(out: Path | None, data: bytes) -> None:
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        write_new(out, data)


def sibling(out: Path, suffix: str) -> Path:
    return out.with_name(f"{out.stem}-{suffix}{out.suffix or '.p12'}")


@smime_app.command("issue")
def issue(
    ctx: typer.Context,
    username: str,
    out: Path = typer.Option(
        ..., "--out", help="PKCS#12 file to write (both keys; PEM when both came from CSRs)"
    ),
    password: str | None = typer.Option(
        None,
        "--password",
        help="PKCS#12 password, at least 8 characters (default: a random one, printed once)",
    ),
    legacy: bool = typer.Option(
        False, "--legacy", help="3DES/SHA-1 PKCS#12 for gpgsm 2.2 and older Apple systems"
    ),
    split: bool = typer.Option(
        False, "--split", help="Also write OUT-signing.p12 and OUT-encryption.p12, one key each (gpgsm 2.2)"
    ),
    csr_signing: Path | None = typer.Option(None, "--csr-signing", help="Your own signing CSR (PEM or DER)"),
    csr_encryption: Path | None = typer.Option(
        None, "--csr-encryption", help="Your own encryption CSR (only where escrow is off)"
    ),
    as_json: bool = JSON,
) -> None:
    """Issue a person's S/MIME signing certificate (never escrowed) and encryption certificate (escrowed by policy)."""
    targets = [out] + ([sibling(out, "signing"), sibling(out, "encryption")] if split else [])
    for target in targets:
        if target.exists():
            fail(f"{target} exists; refusing to overwrite it")
    signing_csr = read_input(csr_signing) if csr_signing else None
    encryption_csr = read_input(csr_encryption) if csr_encryption else None
    authority = state(ctx).authority()
    # The files exist before the issuance: if one cannot be created, nothing is issued; if the
    # issuance is refused, they are removed again.
    handles = create_files(targets)
    try:
        bundle = smime.issue_smime_bundle(
            authority,
            username=username,
            actor=CLI_ACTOR,
            password=password,
            legacy=legacy,
            split=split,
            signing_csr=signing_csr,
            encryption_csr=encryption_csr,
        )
    except BaseException:
        discard_files(targets, handles)
        raise
    pem = (
        bundle.signing.pem
        + bundle.encryption.pem
        + b"".join(
            c.public_bytes(serialization.Encoding.PEM) for c in authority.chain_of(bundle.signing.certificate)
        )
    )
    contents = [
        bundle.pkcs12 if bundle.pkcs12 is not None else pem,
        bundle.pkcs12_signing,
        bundle.pkcs12_encryption,
    ]
    written = []
    for target, handle, data in zip(targets, handles, contents, strict=False):
        with handle:
            if data is not None:
                handle.write(data)
                written.append(str(target))
        if data is None:  # a split file for a key that came from a CSR: there is nothing to put in it
            target.unlink(missing_ok=True)
    if as_json:
        emit_json(
            {
                **bundle.to_json(),
                "files": written,
                "password": bundle.password if bundle.password_generated else None,
            }
        )
        return
    typer.echo(f"signing certificate    {openssl_serial(bundle.signing.serial)}")
    typer.echo(f"encryption certificate {openssl_serial(bundle.encryption.serial)}")
    typer.echo(f"wrote {', '.join(written)}")
    typer.echo(bundle.notice())
    if bundle.password_generated and bundle.pkcs12 is not None:
        typer.echo(f"PKCS#12 password (shown once): {bundle.password}")


@smime_app.command("reissue-signing")
def reissue_signing(
    ctx: typer.Context,
    username: str,
    out: Path = typer.Option(..., "--out", help="PKCS#12 file for the new signing key"),
    password: str | None = typer.Option(
        None, "--password", help="One-time PKCS#12 password (prompted when absent)"
    ),
    legacy: bool = typer.Option(False, "--legacy", help="3DES/SHA-1 PKCS#12"),
    as_json: bool = JSON,
) -> None:
    """Replace a signing certificate whose key was lost (offered after a lost-key recovery)."""
    chosen = _password(password)
    handle = open_new(out)
    try:
        result = smime.reissue_signing(
            state(ctx).authority(), username=username, password=chosen, actor=CLI_ACTOR, legacy=legacy
        )
    except BaseException:
        discard_files([out], [handle])
        raise
    with handle:
        handle.write(result.pkcs12)
    if as_json:
        emit_json({**result.to_json(), "file": str(out)})
        return
    typer.echo(
        f"new signing certificate {result.new_serial}; revoked (superseded): {', '.join(result.revoked) or 'none'}"
    )
    typer.echo(f"wrote {out}")


def _password(value: str | None) -> str:
    return value if value is not None else typer.prompt("PKCS#12 password", hide_input=True)


@smime_app.command("sign")
def sign(
    ctx: typer.Context,
    message: Path = typer.Argument(..., help="RFC 5322 message file ('-' for standard input)"),
    p12: Path = P12,
    password: str | None = P12_PASSWORD,
    out: Path | None = OUT,
) -> None:
    """Sign a message (multipart/signed, detached) with the signing key of your PKCS#12 file."""
    data, p12_bytes = read_input(message), read_input(p12)
    signed = smime.sign_message(state(ctx).authority(), data, pkcs12=p12_bytes, password=_password(password))
    write_output(out, signed)


@smime_app.command("encrypt")
def encrypt(
    ctx: typer.Context,
    message: Path = typer.Argument(..., help="RFC 5322 message file ('-' for standard input)"),
    to: list[str] | None = typer.Option(
        None, "--to", help="Extra recipient address (repeat); To: and Cc: are used"
    ),
    no_sender: bool = typer.Option(False, "--no-sender", help="Do not also encrypt to the From: address"),
    out: Path | None = OUT,
) -> None:
    """Encrypt a message to its recipients' (and the sender's) encryption certificates from the directory."""
    encrypted, recipients = smime.encrypt_message(
        state(ctx).authority(), read_input(message), recipients=to or (), include_sender=not no_sender
    )
    write_output(out, encrypted)
    typer.echo(f"encrypted to {', '.join(recipients)}", err=True)


@smime_app.command("verify")
def verify(
    ctx: typer.Context,
    message: Path = typer.Argument(..., help="Signed RFC 5322 message file ('-' for standard input)"),
    out: Path | None = typer.Option(None, "--out", help="Write the signed content here"),
    as_json: bool = JSON,
) -> None:
    """Verify signature, chain to our root, validity, emailProtection, From: match and revocation (our CRLs)."""
    verified = smime.verify_message(state(ctx).authority(), read_input(message))
    if out is not None:
        write_new(out, verified.content)
    result = {
        "valid": True,
        "signer": verified.signer_email,
        "serial": openssl_serial(verified.signer_certificate.serial_number),
        "subject": verified.signer_certificate.subject.rfc4514_string(),
        "signing_time": verified.signing_time.isoformat() if verified.signing_time else None,
        "digest": verified.digest_algorithm,
    }
    if as_json:
        emit_json(result)
    else:
        typer.echo(f"signature valid: signed by {result['signer']} (certificate {result['serial']})")


@smime_app.command("decrypt")
def decrypt(
    message: Path = typer.Argument(..., help="Encrypted RFC 5322 message file ('-' for standard input)"),
    p12: Path = P12,
    password: str | None = P12_PASSWORD,
    out: Path | None = OUT,
) -> None:
    """Decrypt a message with any key of your PKCS#12 file (a recovery file holds your whole key history)."""
    data, p12_bytes = read_input(message), read_input(p12)
    write_output(out, smime.decrypt_message(data, pkcs12=p12_bytes, password=_password(password)))
