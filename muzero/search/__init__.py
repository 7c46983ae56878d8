"""The batched tree search: one loop, the selection policies it runs, their compiled kernels, and a plain reference.

``protocol`` holds the types the search and its model exchange; ``tree`` the preallocated trees and the
shared backup kernel; ``loop`` the one search loop; ``puct`` (MuZero) and ``gumbel`` (Gumbel MuZero) the
policies plugged into it; ``mcts`` the front door that picks one from the config; ``reference`` a slow,
plain search to test the fast one against. Nothing here knows of ``torch``: the search sees a model only
through ``initial_inference`` and ``recurrent_inference`` with typed NumPy outputs.
"""
