"""assert_within_slack_limits(message_or_view): every Block Kit limit Slack enforces (slack-facts.md section 5),
checked on what a builder returns, so a long or strange text can never get a card refused with invalid_blocks."""

from __future__ import annotations

import json
from typing import Any

MESSAGE_BLOCKS, VIEW_BLOCKS = 50, 100
SECTION_TEXT, FIELD_TEXT, FIELDS = 3000, 2000, 10
HEADER_TEXT, BUTTON_TEXT, BUTTON_VALUE, URL = 150, 75, 2000, 3000
ID_MAX, ACTION_ELEMENTS, CONTEXT_ELEMENTS = 255, 25, 10
OPTION_TEXT, OPTION_VALUE, OPTIONS, PLACEHOLDER = 75, 150, 100, 150
VIEW_TITLE, PRIVATE_METADATA, INPUT_MAX, LABEL, MESSAGE_TEXT = 24, 3000, 3000, 2000, 40000
CONFIRM_TITLE, CONFIRM_TEXT, CONFIRM_BUTTON = 100, 300, 30


class Limits:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def check(self, ok: bool, where: str, why: str) -> None:
        if not ok:
            self.problems.append(f"{where}: {why}")

    def text(self, obj: Any, where: str, limit: int, *, plain_only: bool = False) -> None:
        if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
            self.problems.append(f"{where}: not a text object: {str(obj)[:80]}")
            return
        if plain_only:
            self.check(obj["type"] == "plain_text", where, "must be plain_text")
        value = obj.get("text")
        self.check(isinstance(value, str) and len(value) >= 1, where, "text must be a non-empty string")
        if isinstance(value, str):
            self.check(len(value) <= limit, where, f"{len(value)} characters > {limit}")

    def string(self, value: Any, where: str, limit: int) -> None:
        self.check(isinstance(value, str), where, "must be a string")
        if isinstance(value, str):
            self.check(len(value) <= limit, where, f"{len(value)} characters > {limit}")

    def element(self, el: dict[str, Any], where: str) -> None:
        kind = el.get("type")
        if "action_id" in el:
            self.string(el["action_id"], f"{where}.action_id", ID_MAX)
        if "placeholder" in el:
            self.text(el["placeholder"], f"{where}.placeholder", PLACEHOLDER, plain_only=True)
        if "confirm" in el:
            self.confirm(el["confirm"], f"{where}.confirm")
        if kind == "button":
            self.text(el.get("text"), f"{where}.text", BUTTON_TEXT, plain_only=True)
            if "value" in el:
                self.string(el["value"], f"{where}.value", BUTTON_VALUE)
            if "url" in el:
                self.string(el["url"], f"{where}.url", URL)
        elif kind == "plain_text_input":
            for key, low in (("max_length", 1), ("min_length", 0)):
                if key in el:
                    self.check(isinstance(el[key], int) and low <= el[key] <= INPUT_MAX, f"{where}.{key}",
                               f"{el[key]} outside {low}..{INPUT_MAX}")
            if "initial_value" in el:
                most = min(el.get("max_length", INPUT_MAX), INPUT_MAX)
                self.string(el["initial_value"], f"{where}.initial_value", most)
        elif kind in ("static_select", "multi_static_select", "radio_buttons", "checkboxes", "overflow"):
            options = list(el.get("options", []))
            for group in el.get("option_groups", []):
                options += group.get("options", [])
            self.check(len(options) <= OPTIONS, where, f"{len(options)} options > {OPTIONS}")
            if kind == "overflow":
                self.check(2 <= len(options) <= 5, where, "overflow menus hold 2 to 5 options")
            for i, option in enumerate(options):
                self.text(option.get("text"), f"{where}.options[{i}].text", OPTION_TEXT)
                self.string(option.get("value"), f"{where}.options[{i}].value", OPTION_VALUE)

    def confirm(self, obj: dict[str, Any], where: str) -> None:
        self.text(obj.get("title"), f"{where}.title", CONFIRM_TITLE, plain_only=True)
        self.text(obj.get("text"), f"{where}.text", CONFIRM_TEXT)
        self.text(obj.get("confirm"), f"{where}.confirm", CONFIRM_BUTTON, plain_only=True)
        self.text(obj.get("deny"), f"{where}.deny", CONFIRM_BUTTON, plain_only=True)

    def block(self, block: dict[str, Any], where: str) -> None:
        kind = block.get("type")
        if "block_id" in block:
            self.string(block["block_id"], f"{where}.block_id", ID_MAX)
        if kind == "section":
            self.check("text" in block or "fields" in block, where, "a section needs text or fields")
            if "text" in block:
                self.text(block["text"], f"{where}.text", SECTION_TEXT)
            fields = block.get("fields", [])
            self.check(len(fields) <= FIELDS, where, f"{len(fields)} fields > {FIELDS}")
            for i, field in enumerate(fields):
                self.text(field, f"{where}.fields[{i}]", FIELD_TEXT)
            if "accessory" in block:
                self.element(block["accessory"], f"{where}.accessory")
        elif kind == "header":
            self.text(block.get("text"), f"{where}.text", HEADER_TEXT, plain_only=True)
        elif kind == "context":
            elements = block.get("elements", [])
            self.check(1 <= len(elements) <= CONTEXT_ELEMENTS, where, f"{len(elements)} elements, want 1..10")
            for i, el in enumerate(elements):
                if el.get("type") in ("plain_text", "mrkdwn"):
                    self.text(el, f"{where}.elements[{i}]", SECTION_TEXT)
        elif kind == "actions":
            elements = block.get("elements", [])
            self.check(1 <= len(elements) <= ACTION_ELEMENTS, where, f"{len(elements)} elements, want 1..25")
            for i, el in enumerate(elements):
                self.element(el, f"{where}.elements[{i}]")
        elif kind == "input":
            self.text(block.get("label"), f"{where}.label", LABEL, plain_only=True)
            if "hint" in block:
                self.text(block["hint"], f"{where}.hint", LABEL, plain_only=True)
            self.element(block.get("element", {}), f"{where}.element")
        elif kind == "image":
            self.string(block.get("image_url"), f"{where}.image_url", URL)
            self.string(block.get("alt_text"), f"{where}.alt_text", 2000)
        else:
            self.check(kind in ("divider", "rich_text", "file", "video"), where, f"unknown block type {kind!r}")


def slack_limit_problems(payload: dict[str, Any]) -> list[str]:
    """Every limit `payload` (a chat message or a view) breaks; empty when Slack would accept it."""
    limits = Limits()
    json.dumps(payload)  # must serialise as it will be sent
    is_view = payload.get("type") in ("modal", "home")
    blocks = payload.get("blocks") or []
    top = VIEW_BLOCKS if is_view else MESSAGE_BLOCKS
    limits.check(len(blocks) <= top, "blocks", f"{len(blocks)} blocks > {top}")
    if is_view and payload.get("type") == "modal":  # a Home tab has no title
        limits.text(payload.get("title"), "title", VIEW_TITLE, plain_only=True)
    if is_view:
        for key in ("submit", "close"):
            if key in payload:
                limits.text(payload[key], key, VIEW_TITLE, plain_only=True)
        limits.string(payload.get("private_metadata", ""), "private_metadata", PRIVATE_METADATA)
        limits.string(payload.get("callback_id", ""), "callback_id", ID_MAX)
    else:
        limits.check(bool(payload.get("text") or blocks), "message", "needs text or blocks")
        if "text" in payload:
            limits.string(payload["text"], "text", MESSAGE_TEXT)
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    limits.check(len(ids) == len(set(ids)), "blocks", "block_ids must be unique")
    for i, block in enumerate(blocks):
        limits.block(block, f"blocks[{i}]")
    return limits.problems


def assert_within_slack_limits(payload: dict[str, Any]) -> None:
    problems = slack_limit_problems(payload)
    assert not problems, "outside Slack's limits:\n" + "\n".join(problems[:20])
