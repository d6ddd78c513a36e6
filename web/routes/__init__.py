"""The web app's routes, one module per page family; each calls services/ flows and renders a template."""
