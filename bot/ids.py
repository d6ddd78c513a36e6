"""Action, block and callback ids in one place, so builders and listeners can't drift apart."""

COMMAND = "/countersign"
