"""`countersign demo`: the whole service on a throwaway SQLite database, with a demo agent and its callback
receiver, for trying Countersign without Slack."""
