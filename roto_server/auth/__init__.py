"""Who is asking: users, roles and the credential checks every endpoint shares."""
