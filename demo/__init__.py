"""The synthetic demo world: a register with planted abnormal applicants and its truth
(``demo.world.generate_world``; ``tmscreen demo-data``). It imports nothing of the detector — its
vocabularies are its own (``demo.terms``) — so that the demo does not test the detector against its
own tables."""
