"""AWS and dedicated-server exports of the sample organisation: a FOCUS 1.2 CSV and the dedicated-invoice CSV."""

from __future__ import annotations

import csv
import io
import json
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sample_org.common import (
    AWS_DISCREPANCY_BILLED_HOURS, AWS_DISCREPANCY_DAY, AWS_DISCREPANCY_USED_HOURS, AWS_PRICES, AWS_VAT_RATE, HEX,
    Ledger, MONTHS, UNALLOCATED, UPPER_ALNUM, days, month_bounds, opaque_id, plain, q, rfc3339, weekday_factor,
)


# =======================================================================================
# AWS: FOCUS 1.2 with AWS columns (Data Exports), daily granularity
# =======================================================================================

FOCUS_COLUMNS = (
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingAccountType",
    "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart", "CapacityReservationId",
    "CapacityReservationStatus", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
    "ChargePeriodEnd", "ChargePeriodStart", "CommitmentDiscountCategory", "CommitmentDiscountId",
    "CommitmentDiscountName", "CommitmentDiscountQuantity", "CommitmentDiscountStatus", "CommitmentDiscountType",
    "CommitmentDiscountUnit", "ConsumedQuantity", "ConsumedUnit", "ContractedCost", "ContractedUnitPrice",
    "EffectiveCost", "InvoiceId", "InvoiceIssuerName", "ListCost", "ListUnitPrice", "PricingCategory",
    "PricingCurrency", "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName",
    "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType", "ServiceCategory", "ServiceName",
    "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceDetails", "SkuPriceId", "SubAccountId",
    "SubAccountName", "SubAccountType", "Tags",
    "x_Operation", "x_ServiceCode", "x_UsageType",
)  # fmt: skip
AWS_PAYER = ("431927506184", "acme-ai-payer")
AWS_ACCOUNTS = {"prod": ("270614958332", "acme-ai-prod"), "ml": ("588302117746", "acme-ai-ml")}
AWS_INVOICES = {(2026, 9): "EUINGB26-0931457", (2026, 10): "EUINGB26-1038822", (2026, 11): "EUINGB26-1129360"}


@dataclass(frozen=True)
class AwsResource:
    """A billable AWS resource of the sample organisation and how it is billed."""

    resource_id: str
    name: str
    account: str
    tags: dict[str, str]
    kind: str  # ec2 | s3 | transfer


def _instance_id(name: str) -> str:
    return opaque_id("i-0", name, 16, HEX)


def _sku(name: str) -> tuple[str, str]:
    """AWS-style SkuId and SkuPriceId (SKU.OfferTermCode.RateCode) for a product."""
    sku = opaque_id("", f"sku-{name}", 16, UPPER_ALNUM)
    return sku, f"{sku}.JRTCKXETXF.6YS6EN2CT7"


def focus_rows(rng: random.Random, ledger: Ledger) -> list[dict[str, str]]:
    """Daily AWS usage lines for platform, vision and research, untagged lines, and monthly VAT."""
    rows: list[dict[str, str]] = []
    usage_total: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    api = [AwsResource(_instance_id(f"platform-api-{n}"), f"platform-api-{n}", "prod",
                       {"team": "platform", "Name": f"platform-api-{n}"}, "ec2") for n in (1, 2)]
    vision_dev = AwsResource(_instance_id("vision-dev"), "vision-dev", "ml", {"team": "vision", "Name": "vision-dev"}, "ec2")
    research_p4d = AwsResource(_instance_id("research-p4d"), "research-p4d", "ml",
                               {"team": "research", "Name": "research-p4d"}, "ec2")
    bastion = AwsResource(_instance_id("bastion"), "bastion", "prod", {"Name": "bastion"}, "ec2")
    buckets = {
        "acme-platform-artifacts": ({"team": "platform"}, 4200, 6.0),
        "acme-vision-datasets": ({"team": "vision"}, 11800, 25.0),
        "acme-research-checkpoints": ({"team": "research"}, 2600, 18.0),
        "acme-logs": ({}, 1900, 9.0),
    }
    p4d_runs = {date(2026, 9, 16): 5, AWS_DISCREPANCY_DAY: AWS_DISCREPANCY_USED_HOURS, date(2026, 11, 12): 4}

    def add(d: date, res: AwsResource, product: str, qty: Decimal, billed: Decimal | None = None) -> None:
        line = _focus_usage_line(d, res, product, qty, billed)
        rows.append(line)
        amount = Decimal(line["BilledCost"])
        usage_total[(d.year, d.month)] += amount
        ledger.add(d, res.tags.get("team", UNALLOCATED), "aws", "aws", amount)

    for i, d in enumerate(days()):
        for res in api:
            add(d, res, "m6i.xlarge", Decimal(24))
        add(d, bastion, "t3.medium", Decimal(24))
        if d.weekday() < 5:
            add(d, vision_dev, "g5.xlarge", q(Decimal(rng.uniform(7.0, 11.5)), "0.01"))
        if d in p4d_runs:
            used = Decimal(p4d_runs[d])
            billed = None
            if d == AWS_DISCREPANCY_DAY:
                billed = q(AWS_PRICES["p4d.24xlarge"] * AWS_DISCREPANCY_BILLED_HOURS)
            add(d, research_p4d, "p4d.24xlarge", used, billed)
        month_start, month_end = month_bounds(d.year, d.month)
        n_days = (month_end - month_start).days
        for bucket, (tags, gb, growth_per_day) in buckets.items():
            stored_gb = Decimal(gb) + Decimal(str(growth_per_day)) * i
            gb_month = q(stored_gb / n_days, "0.001")
            add(d, AwsResource(bucket, bucket, "ml" if tags.get("team") in ("vision", "research") else "prod",
                               tags, "s3"), "s3", gb_month)
        egress = q(Decimal(rng.uniform(35, 80)) * Decimal(weekday_factor(d, 0.6)), "0.001")
        add(d, AwsResource(api[0].resource_id, "platform-api-1", "prod", api[0].tags, "transfer"), "transfer", egress)

    for (year, month), total in sorted(usage_total.items()):
        _, end = month_bounds(year, month)
        vat = q(total * AWS_VAT_RATE, "0.01")
        rows.append(_focus_tax_line(year, month, vat))
        ledger.add(end - timedelta(days=1), UNALLOCATED, "aws", "aws", vat)
    return rows


def _focus_base(d_start: date, d_end: date, year: int, month: int, account: str) -> dict[str, str]:
    """Columns shared by every line of one billing period and sub-account."""
    start, end = month_bounds(year, month)
    row = {c: "" for c in FOCUS_COLUMNS}
    row.update({
        "BillingAccountId": AWS_PAYER[0],
        "BillingAccountName": AWS_PAYER[1],
        "BillingAccountType": "Billing Account",
        "BillingCurrency": "USD",
        "BillingPeriodStart": rfc3339(start),
        "BillingPeriodEnd": rfc3339(end),
        "ChargePeriodStart": rfc3339(d_start),
        "ChargePeriodEnd": rfc3339(d_end),
        "InvoiceId": AWS_INVOICES[(year, month)],
        "InvoiceIssuerName": "Amazon Web Services EMEA SARL",
        "ProviderName": "AWS",
        "PublisherName": "AWS",
        "SubAccountId": AWS_ACCOUNTS[account][0],
        "SubAccountName": AWS_ACCOUNTS[account][1],
        "SubAccountType": "Linked Account",
    })
    return row


def _focus_usage_line(d: date, res: AwsResource, product: str, qty: Decimal, billed: Decimal | None) -> dict[str, str]:
    """One daily usage line; cost = ListUnitPrice x PricingQuantity unless ``billed`` overrides it."""
    row = _focus_base(d, d + timedelta(days=1), d.year, d.month, res.account)
    if res.kind == "ec2":
        price = AWS_PRICES[product]
        details = {
            "ChargeDescription": f"${plain(price)} per On Demand Linux {product} Instance Hour",
            "PricingUnit": "Hours", "ConsumedUnit": "Hours", "ServiceCategory": "Compute",
            "ServiceName": "Amazon Elastic Compute Cloud", "ServiceSubcategory": "Virtual Machines",
            "ResourceType": "Instance", "AvailabilityZone": "us-east-1a", "SkuMeter": "Compute Usage",
            "SkuPriceDetails": json.dumps({"InstanceType": product, "OperatingSystem": "Linux"}),
            "x_Operation": "RunInstances", "x_ServiceCode": "AmazonEC2", "x_UsageType": f"BoxUsage:{product}",
        }
        sku_name = product
    elif res.kind == "s3":
        price = AWS_PRICES["s3_standard_gb_month"]
        details = {
            "ChargeDescription": f"${plain(price)} per GB - first 50 TB / month of storage used",
            "PricingUnit": "GB-Month", "ConsumedUnit": "GB-Month", "ServiceCategory": "Storage",
            "ServiceName": "Amazon Simple Storage Service", "ServiceSubcategory": "Object Storage",
            "ResourceType": "Bucket", "SkuMeter": "Storage", "SkuPriceDetails": json.dumps({"StorageClass": "Standard"}),
            "x_Operation": "StandardStorage", "x_ServiceCode": "AmazonS3", "x_UsageType": "TimedStorage-ByteHrs",
        }
        sku_name = "s3-standard"
    else:
        price = AWS_PRICES["data_transfer_out_gb"]
        details = {
            "ChargeDescription": f"${plain(price)} per GB - first 10 TB / month data transfer out beyond the global free tier",
            "PricingUnit": "GB", "ConsumedUnit": "GB", "ServiceCategory": "Networking",
            "ServiceName": "AWS Data Transfer", "ServiceSubcategory": "Other (Networking)",
            "ResourceType": "Instance", "AvailabilityZone": "us-east-1a", "SkuMeter": "Data Transfer",
            "SkuPriceDetails": json.dumps({"TransferType": "AWS Outbound"}),
            "x_Operation": "RunInstances", "x_ServiceCode": "AWSDataTransfer", "x_UsageType": "DataTransfer-Out-Bytes",
        }
        sku_name = "data-transfer-out"
    list_cost = q(price * qty)
    cost = billed if billed is not None else list_cost
    sku_id, sku_price_id = _sku(sku_name)
    row.update(details)
    row.update({
        "BilledCost": plain(cost),
        "EffectiveCost": plain(cost),
        "ListCost": plain(cost),
        "ContractedCost": plain(cost),
        "ListUnitPrice": plain(price),
        "ContractedUnitPrice": plain(price),
        "PricingQuantity": plain(qty),
        "ConsumedQuantity": plain(qty),
        "ChargeCategory": "Usage",
        "ChargeFrequency": "Usage-Based",
        "PricingCategory": "Standard",
        "RegionId": "us-east-1",
        "RegionName": "US East (N. Virginia)",
        "ResourceId": res.resource_id,
        "ResourceName": res.name,
        "SkuId": sku_id,
        "SkuPriceId": sku_price_id,
        "Tags": json.dumps(res.tags, sort_keys=True),
    })
    return row


def _focus_tax_line(year: int, month: int, vat: Decimal) -> dict[str, str]:
    """The month's VAT line: a Tax charge with no price, quantity or resource."""
    start, end = month_bounds(year, month)
    row = _focus_base(start, end, year, month, "prod")
    row.update({
        "BilledCost": f"{vat:.2f}",
        "EffectiveCost": f"{vat:.2f}",
        "ChargeCategory": "Tax",
        "ChargeDescription": "VAT (20%) for billing period",
        "ChargeFrequency": "Recurring",
        "ServiceCategory": "Other",
        "ServiceName": "Tax",
        "Tags": "{}",
        "x_ServiceCode": "Tax",
    })
    return row


def write_focus(path: Path, rows: list[dict[str, str]]) -> None:
    """Write the FOCUS CSV with its header in spec (alphabetical) order, then the AWS x_ columns."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(FOCUS_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


# =======================================================================================
# Dedicated server invoices (spendwatch's documented CSV)
# =======================================================================================

DEDICATED_HEADER = (
    "invoice_id", "provider", "account_id", "server_id", "server_name", "gpu_model", "gpu_count",
    "period_start", "period_end", "amount", "currency", "description", "used_hours",
)
DEDICATED_USED_HOURS = {(2026, 9): Decimal("118.5"), (2026, 10): Decimal("96.25"), (2026, 11): Decimal("131.75")}
DEDICATED_MONTHLY_GBP = Decimal("249.00")


def dedicated_rows(ledger: Ledger) -> list[list[str]]:
    """One GigaGPU invoice a month for gg-4090-01 (team platform), which is mostly idle."""
    rows = []
    for n, (year, month) in enumerate(MONTHS):
        start, end = month_bounds(year, month)
        ledger.add(start, "platform", "dedicated", "dedicated", DEDICATED_MONTHLY_GBP, "GBP")
        rows.append([
            f"GG-{year}{month:02d}-{4471 + n * 113}",
            "gigagpu",
            "GG-ACME-0042",
            "gg-4090-01",
            "gg-4090-01 London 1x RTX 4090",
            "RTX4090-24GB",
            "1",
            start.isoformat(),
            end.isoformat(),
            f"{DEDICATED_MONTHLY_GBP:.2f}",
            "GBP",
            f"Dedicated GPU server RTX 4090 24GB - monthly rental {start:%B %Y}",
            plain(DEDICATED_USED_HOURS[(year, month)]),
        ])
    return rows


def write_dedicated(path: Path, rows: list[list[str]]) -> None:
    """Write the dedicated-invoice CSV with its fixed header."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(DEDICATED_HEADER)
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
