"""The report of one run: its model, its JSON form and its delivery to channels.

``model`` holds the report and its entries, ``codec`` its JSON writer and validating
reader, ``delivery`` ``notify()``, ``finding`` the watch's findings. Re-exports only;
rendering and channels import ``processes.report`` (or ``processes.report.model``) for the types.
"""

from processes.report.codec import (
    LONGEST_JSON_INT_BITS,
    MAX_JSON_DEPTH,
    MAX_JSON_DEPTH_READ,
    crashes_to_list,
    entry_to_dict,
    error_to_dict,
    jsonable,
    report_from_dict,
    report_from_json,
    report_to_dict,
)
from processes.report.delivery import Delivery, notify, notify_finding
from processes.report.finding import Finding, FindingKind
from processes.report.model import (
    ProcessExecutionReport,
    TaskReportEntry,
    new_entry,
    new_run_id,
)

__all__ = [
    "LONGEST_JSON_INT_BITS",
    "MAX_JSON_DEPTH",
    "MAX_JSON_DEPTH_READ",
    "Delivery",
    "Finding",
    "FindingKind",
    "ProcessExecutionReport",
    "TaskReportEntry",
    "crashes_to_list",
    "entry_to_dict",
    "error_to_dict",
    "jsonable",
    "new_entry",
    "new_run_id",
    "notify",
    "notify_finding",
    "report_from_dict",
    "report_from_json",
    "report_to_dict",
]
