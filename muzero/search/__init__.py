"""The batched tree search: the model protocol it calls, its compiled kernels, and a plain reference search.

Nothing here knows of ``torch``: the search sees a model only through ``initial_inference`` and
``recurrent_inference`` with typed NumPy outputs.
"""
