"""The pages, one module per role (and sign-in); each holds its own router."""
