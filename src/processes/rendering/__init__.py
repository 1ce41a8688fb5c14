"""Pure functions from a report to text: no I/O, no network.

Modules here import ``processes.report`` only for type checking, because the report's
own methods (``to_text()``, ``to_html()``...) call into them.
"""
