"""Code bank for textcraft: 0 helpers after 43 rounds of refactoring (societygym ReGAL).

Helpers may call names that the domain's env provides (the LOGO turtle DSL,
TextCraft's get_object ...), which this module does not define."""
