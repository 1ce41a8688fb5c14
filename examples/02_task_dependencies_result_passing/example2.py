"""Example 2: passing results along dependencies, as positional and keyword arguments.

An invoice run. Each task's function receives its own ``args``/``kwargs`` first, then
whatever its dependencies hand over:

- ``use_result_as_additional_args=True`` appends the upstream result after the task's own
  ``args``, in the order the dependencies are listed;
- ``use_result_as_additional_kwargs=True`` with ``additional_kwarg_name="x"`` passes it
  as ``x=result``;
- neither: the dependency only orders the tasks.

    python examples/02_task_dependencies_result_passing/example2.py
"""

from __future__ import annotations

import sys

from processes import CircularDependencyError, Process, Task, TaskDependency


def load_customers() -> dict[str, str]:
    return {"c1": "Ada", "c2": "Grace"}


def load_orders(month: str) -> list[tuple[str, float]]:
    print(f"    load_orders({month!r})")
    return [("c1", 120.0), ("c2", 80.0), ("c1", 30.0)]


def load_tax_rate(country: str) -> float:
    return {"FR": 0.2, "DE": 0.19}[country]


def totals_per_customer(currency: str, orders: list[tuple[str, float]]) -> dict[str, str]:
    # currency is the task's own arg; orders is appended by the dependency.
    print(f"    totals_per_customer({currency!r}, <{len(orders)} orders>)")
    sums: dict[str, float] = {}
    for customer, amount in orders:
        sums[customer] = sums.get(customer, 0.0) + amount
    return {customer: f"{amount:.2f} {currency}" for customer, amount in sums.items()}


def write_invoices(
    customers: dict[str, str],
    totals: dict[str, str],
    *,
    tax_rate: float,
    footer: str,
) -> list[str]:
    # customers and totals arrive positionally, in the order the dependencies are listed;
    # tax_rate arrives by keyword from a dependency, footer from the task's own kwargs.
    print(f"    write_invoices(<customers>, <totals>, tax_rate={tax_rate}, footer={footer!r})")
    return [f"{customers[c]}: {total} (VAT {tax_rate:.0%}) {footer}" for c, total in totals.items()]


def announce(invoices: list[str], *, month: str) -> str:
    return f"{len(invoices)} invoices for {month}"


tasks = [
    Task("load_customers", load_customers),
    Task("load_orders", load_orders, args=("2024-05",)),
    Task("load_tax_rate", load_tax_rate, kwargs={"country": "FR"}),
    Task(
        "totals_per_customer",
        totals_per_customer,
        args=("EUR",),
        dependencies=[TaskDependency("load_orders", use_result_as_additional_args=True)],
    ),
    Task(
        "write_invoices",
        write_invoices,
        kwargs={"footer": "Thank you!"},
        dependencies=[
            TaskDependency("load_customers", use_result_as_additional_args=True),
            TaskDependency("totals_per_customer", use_result_as_additional_args=True),
            TaskDependency(
                "load_tax_rate",
                use_result_as_additional_kwargs=True,
                additional_kwarg_name="tax_rate",
            ),
        ],
    ),
    Task(
        "announce",
        announce,
        kwargs={"month": "May"},
        dependencies=[TaskDependency("write_invoices", use_result_as_additional_args=True)],
    ),
]


def main() -> int:
    with Process(tasks, name="invoices") as process:
        print("Calls:")
        report = process.run(parallel=False)

    print("Results:")
    for name, entry in report.entries.items():
        print(f"  {name}: {entry.result!r}")
    # The report records what each function was really called with, upstream results included.
    invoices = report.entries["write_invoices"]
    print("write_invoices was called with kwargs:", sorted(invoices.kwargs))
    print("All ok:", report.ok)

    # Mistakes in how the graph is built are refused at once, naming the fix.
    print("Refused at build time:")
    try:
        TaskDependency("load_tax_rate", use_result_as_additional_kwargs=True)
    except TypeError as exc:
        print(f"  TypeError: {exc}")
    loop = [
        Task("a", print, dependencies=[TaskDependency("c")]),
        Task("b", print, dependencies=[TaskDependency("a")]),
        Task("c", print, dependencies=[TaskDependency("b")]),
    ]
    try:
        Process(loop)
    except CircularDependencyError as exc:
        print(f"  CircularDependencyError: {exc}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
