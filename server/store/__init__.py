"""Plain functions over the models: what the API views call. No Flask request objects in here."""
