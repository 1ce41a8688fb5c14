"""Example 3: reports and notifications.

An orders pipeline of five tasks: the payment step fails (after two retries), which
cascade-skips shipping, while the unrelated archive step keeps running. The run's
report is triaged here, then delivered once, through an email and a webhook.

Offline by default: it only describes what it would send. With SEND_NOTIFICATIONS=1 it
delivers to a local SMTP server and webhook receiver (SMTP_HOST, SMTP_PORT and
WEBHOOK_URL override the local defaults).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from processes import (
    EmailChannel,
    HTMLEmailStyle,
    Process,
    ProcessExecutionReport,
    ReportContent,
    SMTPConfig,
    Task,
    TaskDependency,
    WebhookChannel,
    WebhookConfig,
)
from processes.channels.email import build_message
from processes.rendering.webhook import render_webhook_payload

HERE = Path(__file__).resolve().parent
LOGS = HERE / "logs"


# -- the pipeline -------------------------------------------------------------------------


Order = dict[str, Any]


def fetch_inventory() -> list[Order]:
    return [{"sku": "A-1", "qty": 3, "price": 10.0}, {"sku": "B-2", "qty": 1, "price": 99.5}]


def enrich_pricing(orders: list[Order]) -> list[Order]:
    return [{**order, "total": order["qty"] * order["price"]} for order in orders]


def charge_payments(orders: list[Order]) -> str:
    gateway = "payments.example.test"
    api_key = "sk_live_do_not_leak_me"  # redacted at capture: never in logs, JSON or alerts
    amount = sum(order["total"] for order in orders)
    raise ConnectionError(f"{gateway} refused the charge of {amount:.2f} (key {api_key})")


def ship_orders(receipt: str) -> str:
    return f"shipped with {receipt}"


def archive_logs() -> int:
    return len(list(LOGS.glob("*.log")))


def build_tasks() -> list[Task]:
    return [
        Task("fetch_inventory", fetch_inventory, LOGS / "fetch.log"),
        Task(
            "enrich_pricing",
            enrich_pricing,
            LOGS / "enrich.log",
            dependencies=[TaskDependency("fetch_inventory", use_result_as_additional_args=True)],
        ),
        Task(
            "charge_payments",
            charge_payments,
            LOGS / "charge.log",
            dependencies=[TaskDependency("enrich_pricing", use_result_as_additional_args=True)],
            retries=2,
            retry_on=(ConnectionError,),
        ),
        Task(
            "ship_orders",
            ship_orders,
            LOGS / "ship.log",
            dependencies=[TaskDependency("charge_payments", use_result_as_additional_args=True)],
        ),
        Task("archive_logs", archive_logs, LOGS / "archive.log"),
    ]


# -- the channels -------------------------------------------------------------------------


def build_channels(sending: bool) -> tuple[EmailChannel, WebhookChannel]:
    smtp_host = os.environ.get("SMTP_HOST", "127.0.0.1")
    smtp_port = int(os.environ.get("SMTP_PORT", "1025"))
    webhook_url = os.environ.get(
        "WEBHOOK_URL",
        "http://127.0.0.1:8080/incoming" if sending else "https://hooks.example.test/incoming",
    )
    email = EmailChannel(
        SMTPConfig(
            mailhost=(smtp_host, smtp_port),
            fromaddr="pipeline@example.test",
            toaddrs=["oncall@example.test"],
        ),
        HTMLEmailStyle(palette="slate", language="en"),
        ReportContent(show_traceback=True, show_traced_vars=True),
    )
    webhook = WebhookChannel(
        WebhookConfig(url=webhook_url, secret="s3cr3t", nest_under="report"),
    )
    return email, webhook


def main() -> int:
    with Process(build_tasks(), name="orders-pipeline") as process:
        report = process.run(parallel=False)

    print(f"Process {report.process_name!r} finished in {report.elapsed_seconds:.3f} s")
    print(
        f"  {len(report.successes)} succeeded, {len(report.errored)} errored, "
        f"{len(report.skipped)} skipped"
    )
    for name, entry in report.entries.items():
        print(
            f"  {entry.status.value:8} {name:16} attempts={entry.attempts} "
            f"elapsed={entry.elapsed_seconds:.4f}s"
        )
    for name, entry in report.errored.items():
        assert entry.error is not None
        print(f"\nErrored: {name} after {entry.attempts} attempts: {entry.error.headline}")
        print(f"  skipped because of it: {', '.join(entry.error.downstream_impact)}")
        print(f"  traced variables: {entry.error.traced_vars}")

    saved = LOGS / "report.json"
    saved.write_text(report.to_json(indent=2), encoding="utf-8")
    print(f"\nThe whole report, losslessly: {saved.relative_to(HERE)} (report.to_json())")

    sending = os.environ.get("SEND_NOTIFICATIONS") == "1"
    email, webhook = build_channels(sending)
    if not sending:
        describe(report, email, webhook)
        return 0

    print("\nDelivering the report (only errors) by email and webhook...")
    deliveries = report.notify(email, webhook, only_errors=True)
    deliveries += report.notify(email, tasks=["charge_payments"])
    for delivery in deliveries:
        state = "delivered" if delivery.ok else f"FAILED ({delivery.error})"
        print(f"  {type(delivery.channel).__name__}: {state}")
    return 0


def describe(report: ProcessExecutionReport, email: EmailChannel, webhook: WebhookChannel) -> None:
    """What notify() would send, without sending it."""
    message = build_message(report, email.smtp_config, email.style, email.content, errors_only=True)
    html_part = message.get_body(("html",))
    size = len(html_part.get_content().encode()) if html_part else 0
    print("\nOffline: nothing is sent (set SEND_NOTIFICATIONS=1 to deliver to local servers).")
    print("report.notify(email, webhook, only_errors=True) would send:")
    print(
        f"  an email to {message['To']}: {message['Subject']!r} "
        f"(plain text + HTML, {size:,} bytes of HTML)"
    )
    payload = render_webhook_payload(
        report, content=webhook.content, errors_only=True, nest_under=webhook.config.nest_under
    )
    print(
        f"  a signed webhook POST with keys {sorted(payload)} "
        f"holding {sorted(payload['report']['entries'])}"
    )
    print(
        "report.notify(email, tasks=['charge_payments']) would send one more email "
        "about that task alone."
    )


if __name__ == "__main__":
    raise SystemExit(main())
