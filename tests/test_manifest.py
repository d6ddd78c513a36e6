"""manifest.yml creates the app in one paste: it must satisfy Slack's manifest schema (v1) and our needs."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parent.parent
URL = {"type": "string", "pattern": "^https?://", "maxLength": 3000}

# The parts of slackapi/manifest-schema (schemas/manifest.schema.1.0.0.json) that this manifest uses.
SCHEMA = {
    "type": "object",
    "required": ["display_information"],
    "properties": {
        "display_information": {
            "type": "object", "required": ["name"], "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 35},
                "description": {"type": "string", "maxLength": 140},
                "long_description": {"type": "string", "minLength": 175, "maxLength": 4000},
                "background_color": {"type": "string", "pattern": "^#([A-Fa-f0-9]{6}|[A-Fa-f0-9]{3})$"},
            },
        },
        "features": {
            "type": "object",
            "properties": {
                "bot_user": {"type": "object", "required": ["display_name"], "properties": {
                    "display_name": {"type": "string", "minLength": 1, "maxLength": 80},
                    "always_online": {"type": "boolean"}}},
                "app_home": {"type": "object", "additionalProperties": False, "properties": {
                    "home_tab_enabled": {"type": "boolean"}, "messages_tab_enabled": {"type": "boolean"},
                    "messages_tab_read_only_enabled": {"type": "boolean"}}},
                "slash_commands": {"type": "array", "maxItems": 50, "items": {
                    "type": "object", "required": ["command", "description"], "additionalProperties": False,
                    "properties": {
                        "command": {"type": "string", "pattern": "^/", "minLength": 2, "maxLength": 32},
                        "description": {"type": "string", "minLength": 1, "maxLength": 2000},
                        "url": URL, "usage_hint": {"type": "string", "maxLength": 1000},
                        "should_escape": {"type": "boolean"}}}},
            },
        },
        "oauth_config": {"type": "object", "properties": {"scopes": {"type": "object", "properties": {
            "bot": {"type": "array", "items": {"type": "string"}, "maxItems": 255},
            "user": {"type": "array", "items": {"type": "string"}}}}}},
        "settings": {"type": "object", "properties": {
            "interactivity": {"type": "object", "required": ["is_enabled"], "properties": {
                "is_enabled": {"type": "boolean"}, "request_url": URL, "message_menu_options_url": URL}},
            "event_subscriptions": {"type": "object", "properties": {
                "request_url": URL, "bot_events": {"type": "array", "items": {"type": "string"}}}},
            "org_deploy_enabled": {"type": "boolean"}, "socket_mode_enabled": {"type": "boolean"},
            "token_rotation_enabled": {"type": "boolean"}}},
    },
}


def _manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_matches_slack_schema() -> None:
    """Required fields present and every length limit respected, as Slack's schema says."""
    jsonschema.validate(_manifest(), SCHEMA)


def test_manifest_has_what_the_features_need() -> None:
    """The scopes every feature calls for, the /countersign command, and requests routed to /slack/events."""
    manifest = _manifest()
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "chat:write.public", "commands", "im:write", "usergroups:read", "channels:read",
            "groups:read", "files:write"} <= scopes
    commands = manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == ["/countersign"]
    urls = [commands[0]["url"], manifest["settings"]["interactivity"]["request_url"],
            manifest["settings"]["event_subscriptions"]["request_url"]]
    assert all(url.endswith("/slack/events") for url in urls)
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


# Each scope the manifest asks for, and the Web API methods (or feature) that need it: a scope nothing here uses
# is one a workspace admin is asked to grant for nothing.
SCOPE_USES = {
    "chat:write": ["chat_postMessage", "chat_update", "chat_postEphemeral"],
    "chat:write.public": ["chat.postMessage"],
    "commands": ["ids.COMMAND"],
    "im:write": ["chat.postMessage"],
    "usergroups:read": ["usergroups_users_list"],
    "channels:read": ["conversations_members"],
    "groups:read": ["conversations_members"],
    "files:write": ["files_upload_v2"],
    "files:read": ["files_upload_v2"],
}


def test_every_scope_is_used_and_the_app_home_is_on() -> None:
    """No scope nothing uses (users:read went when users.info did); the Home tab is drawn, owners can get DMs."""
    manifest = _manifest()
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert sorted(scopes) == sorted(SCOPE_USES)
    code = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    for scope, uses in SCOPE_USES.items():
        assert any(use in code for use in uses), f"{scope}: nothing in bot/ calls {uses}"
    assert "users_info" not in code and "users:read" not in scopes
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] and home["messages_tab_enabled"]
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert '@app.event("app_home_opened")' in code
