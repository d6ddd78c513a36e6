"""Inside Temporal's workflow sandbox (a workflow file that imports the client at its top), the client's core
modules and httpx are taken from the host process as they are, before the package's own imports run: they do no
I/O at import, the sandbox refuses to import httpx afresh, and one copy of each class (`Rejected`, `Decision`)
means an `except` in the workflow catches what the integration raises. Outside the sandbox, and where temporalio
is not even loaded, this does nothing. (Plain import statements: the sandbox's passthrough hooks `__import__`.)"""

import sys

_workflow = sys.modules.get("temporalio.workflow")
if _workflow is not None and _workflow.unsafe.in_sandbox():
    with _workflow.unsafe.imports_passed_through():
        import httpx  # noqa: F401

        import countersign_client._client
        import countersign_client._core
        import countersign_client._durable
        import countersign_client.errors
        import countersign_client.types
        import countersign_client.usage
        import countersign_client.webhooks  # noqa: F401
