"""TextCraft (ADaPT; ReGAL's program mode): craft Minecraft items from text recipes."""
