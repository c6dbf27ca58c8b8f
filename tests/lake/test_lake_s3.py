"""A lake whose data files live on S3-compatible storage (``SPENDWATCH_DATA_PATH=s3://bucket/prefix``), for real
and offline: moto's S3 server on 127.0.0.1, with authentication on (an IAM user's access key; a wrong key is
refused with HTTP 403 as by AWS, MinIO or R2).

The credentials and the endpoint come from the environment (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_ENDPOINT_URL``, ``AWS_REGION``), as in production; they never reach an error, a log line or the catalog.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from spendwatch import operations
from spendwatch.core.config import load_config
from spendwatch.core.errors import SpendwatchError
from spendwatch.core.paths import EXAMPLE_CONFIG
from warehouse import lake as lakes
from warehouse.db import connect

ROOT = Path(__file__).resolve().parents[2]
EXPORTS = ROOT / "examples" / "exports"
# A reduced run: three providers' exports (a FOCUS file, a CSV, a JSON API dump), the bundled FX rates, every model.
FILES = ("focus_aws_2026-09_2026-11.csv", "modal_billing_2026-09_2026-11.csv", "openai_costs_2026-10.json")
BUCKET = "finance-lake"
REGION = "us-east-1"
SPENDWATCH = str(Path(sys.executable).parent / "spendwatch")

# Figures compared between the lake on S3 and the DuckDB file: each query's rows must be identical.
TOTALS = {
    "lines": "SELECT BillingCurrency, count(*), sum(BilledCost) FROM billing_line_items GROUP BY 1 ORDER BY 1",
    "deliveries": "SELECT format, status, count(*) FROM deliveries GROUP BY ALL ORDER BY ALL",
    "daily": "SELECT charge_month, team, sum(amount_reporting), sum(line_count) FROM fct_spend_daily GROUP BY ALL ORDER BY ALL",
    "monthly": "SELECT * FROM team_monthly_spend ORDER BY ALL",
}


@dataclass(frozen=True)
class S3Server:
    endpoint: str  # http://127.0.0.1:PORT
    key_id: str
    secret: str

    def client(self, key_id: str | None = None, secret: str | None = None):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=key_id or self.key_id, aws_secret_access_key=secret or self.secret)

    def keys(self, prefix: str) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def env(self, key_id: str | None = None, secret: str | None = None) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": key_id or self.key_id, "AWS_SECRET_ACCESS_KEY": secret or self.secret,
                "AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": REGION}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server(pg_server, tmp_path_factory):
    """moto's S3 (and IAM) server in its own process on 127.0.0.1: an IAM user with an access key, a bucket, then
    authentication switched on, so requests signed with any other key or secret are refused."""
    try:
        import boto3  # noqa: F401  (the lake-test extra)
        import moto.server  # noqa: F401
    except ImportError as e:
        if os.environ.get("SPENDWATCH_REQUIRE_LAKE") == "1":
            pytest.fail(f"SPENDWATCH_REQUIRE_LAKE=1 but moto/boto3 are missing ({e}): make test-lake installs them")
        pytest.skip(f"moto[server] is not installed ({e}); make test-lake installs it")
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.1)
        import boto3

        endpoint = f"http://127.0.0.1:{port}"
        # Before authentication is on, any key will do (moto's own bootstrap, never a real credential).
        boot = {"endpoint_url": endpoint, "region_name": REGION, "aws_access_key_id": "bootstrap-only",
                "aws_secret_access_key": "bootstrap-only"}
        iam = boto3.client("iam", **boot)
        iam.create_user(UserName="spendwatch")
        iam.put_user_policy(UserName="spendwatch", PolicyName="lake", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="spendwatch")["AccessKey"]
        boto3.client("s3", **boot).create_bucket(Bucket=BUCKET)
        h = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        h.request("POST", "/moto-api/reset-auth", body=b"0", headers={"Content-Type": "text/plain"})
        assert h.getresponse().status == 200
        yield S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def s3_lake(lake, s3_server, monkeypatch, request):
    """The test's lake with its data under s3://finance-lake/<test>/, the S3 credentials in the environment."""
    prefix = f"{request.node.name[:40]}-{os.getpid()}"
    for k, v in s3_server.env().items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("SPENDWATCH_DATA_PATH", f"s3://{BUCKET}/{prefix}/")
    return lake, prefix


def build_reduced(con) -> None:
    cfg = load_config(EXAMPLE_CONFIG)
    operations.sync(con, cfg)
    operations.refresh_fx(con, mode="offline")
    results = operations.ingest(con, cfg, [EXPORTS / f for f in FILES])
    assert [r.error for r in results if r.error] == [] and len(results) == len(FILES)
    assert [r.model for r in operations.build_models(con) if r.status != "ok"] == []


def test_a_lake_on_s3_compatible_storage_gives_the_duckdb_files_totals_and_its_parquet_lands_in_the_bucket(
        s3_lake, s3_server, tmp_path):
    lake, prefix = s3_lake
    con = connect(lake.location)
    try:
        assert lakes.attached(con)
        build_reduced(con)
        on_lake = {name: con.execute(sql).fetchall() for name, sql in TOTALS.items()}
    finally:
        con.close()

    ref = connect(tmp_path / "reference.duckdb")
    try:
        build_reduced(ref)
        on_file = {name: ref.execute(sql).fetchall() for name, sql in TOTALS.items()}
    finally:
        ref.close()
    assert on_file["lines"] and on_file["daily"] and on_file["monthly"]
    for name in TOTALS:
        assert on_lake[name] == on_file[name], name

    # The line items really are Parquet objects in the bucket, under the prefix (listed through S3's own API).
    keys = s3_server.keys(prefix + "/")
    assert keys and all(k.startswith(prefix + "/") for k in keys)
    assert any(k.endswith(".parquet") and "billing_line_items" in k for k in keys), keys[:20]
    # And nothing was written beside the prefix, nor to a local folder.
    assert not any(Path.cwd().glob("finance-lake*"))

    # A second process reads the lake back from the bucket: the same totals.
    again = connect(lake.location, read_only=True)
    try:
        assert again.execute(TOTALS["lines"]).fetchall() == on_file["lines"]
    finally:
        again.close()


def test_a_wrong_s3_secret_is_refused_with_a_clear_message_that_never_shows_the_credentials(
        s3_lake, s3_server, pg_server):
    lake, prefix = s3_lake
    connect(lake.location).close()  # migrated with the right key (the catalog lives in PostgreSQL)
    wrong_secret = "Wr0ngSecretWr0ngSecretWr0ngSecret1234"
    env = {**lake.env, **s3_server.env(secret=wrong_secret), "SPENDWATCH_DATA_PATH": f"s3://{BUCKET}/{prefix}/",
           "SPENDWATCH_CONFIG": str(EXAMPLE_CONFIG)}
    done = subprocess.run([SPENDWATCH, "ingest", str(EXPORTS / FILES[1])], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode != 0, done.stdout
    said = done.stdout + done.stderr
    assert "403" in said or "Forbidden" in said or "SignatureDoesNotMatch" in said, said
    for secret in (wrong_secret, s3_server.secret, s3_server.key_id):
        assert secret not in said
    # No object was written with the wrong secret, and nothing of the credentials is in the catalog.
    assert not [k for k in s3_server.keys(prefix + "/") if "billing_line_items" in k]
    dump = subprocess.run([*pg_server.as_user, str(pg_server.bindir / "pg_dump"), "-h", "127.0.0.1", "-p",
                           str(pg_server.port), "-U", "postgres", lake.location.split("dbname=")[1].split()[0]],
                          capture_output=True, text=True, cwd="/")
    assert dump.returncode == 0 and f"s3://{BUCKET}/{prefix}/" in dump.stdout  # the catalog holds the data path...
    for secret in (wrong_secret, s3_server.secret, s3_server.key_id):
        assert secret not in dump.stdout  # ...and no credential

    assert "the lake's object store refused a request" in said and "AWS_SECRET_ACCESS_KEY" in said, said
    # In-process: the same clear error, whose text names the store's refusal, never the credentials.
    os.environ["AWS_SECRET_ACCESS_KEY"] = wrong_secret
    try:
        with pytest.raises(SpendwatchError, match="object store refused a request") as caught:
            connect(lake.location)
    finally:
        os.environ["AWS_SECRET_ACCESS_KEY"] = s3_server.secret
    text = str(caught.value)
    assert "403" in text and "SignatureDoesNotMatch" in text and f"s3://{BUCKET}/{prefix}/" in text, text
    for secret in (wrong_secret, s3_server.secret, s3_server.key_id):
        assert secret not in text
