"""What every app uses and no app owns: the error vocabulary, strict input parsing, the API's
exception handler and pagination, and time and interval helpers. It imports no app of the project."""
