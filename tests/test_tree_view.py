"""``muzero tree``: the drawn tree is the searched one."""

from __future__ import annotations

import re

import numpy as np

from muzero.app.tree_view import draw_search, tree_nodes, tree_svg
from muzero.config import SearchConfig
from muzero.search.mcts import search_with_tree
from tests.models import TreeMDPModel


def test_the_svg_draws_every_expanded_node_with_its_statistics_and_the_chosen_action():
    # The chain MDP of test_search: action 1 leads to the reward of 10.
    transitions = np.array([[1, 2], [3, 3], [3, 4], [3, 3], [4, 4]])
    rewards = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 10.0], [0.0, 0.0], [0.0, 0.0]])
    terminal = np.array([False, False, False, True, True])
    model = TreeMDPModel(transitions, rewards, terminal, discount=0.9)
    output, tree = search_with_tree(
        model, np.zeros((1, 1), np.float32), SearchConfig(exploration_fraction=0.0), None, 30
    )
    nodes = tree_nodes(tree)
    assert len(nodes) == 31 and nodes[0] == (-1, -1, 0)  # one node per simulation, plus the root
    svg = tree_svg(tree, output, title="chain")
    assert svg.count("<circle") == 31
    assert "N 31" in svg  # the root: its expansion and 30 simulations
    chosen = int(output.visit_counts[0].argmax())
    red = re.findall(r'fill="#d62728">a=(\d+) N=(\d+)<', svg)
    assert set(red) == {(str(chosen), str(output.visit_counts[0, chosen]))}  # (each label has a white halo copy)
    q = output.q_values[0, chosen]
    assert f"Q={round(float(q), 3):+.3f}" in svg


def test_draw_search_from_a_real_state():
    from muzero import MuZero

    agent = MuZero("CartPole-v1", verbose=0, overrides={"search.num_simulations": 12})
    svg, summary = draw_search(agent, seed=3, steps=4)
    assert summary["step"] == 4 and summary["nodes"] == 13 and sum(summary["visits"]) == 12
    assert svg.startswith("<svg") and svg.count("<circle") == 13


def test_chance_nodes_are_squares_whose_edges_carry_codes_and_their_probabilities():
    from tests.test_stochastic_search import gamble_model

    output, tree = search_with_tree(
        gamble_model(), np.zeros((1, 1), np.float32), SearchConfig(exploration_fraction=0.0), None, 40
    )
    nodes = tree_nodes(tree)
    chance = [node for node in nodes if tree.node_is_chance[0, node]]
    svg = tree_svg(tree, output, title="gamble")
    assert chance and svg.count("<rect x=") == len(chance)
    assert svg.count("<circle") == len(nodes) - len(chance)
    outcomes = [(node, parent, slot) for node, (parent, slot, _) in nodes.items() if parent in chance]
    assert outcomes
    for node, parent, slot in outcomes:  # each outcome edge: its code, visits, sigma(c | as) and reward
        code, sigma = slot - tree.num_actions, tree.children_prior[0, parent, slot]
        assert f">c={code} N={tree.node_visits[0, node]}<" in svg
        assert f"\u03c3={sigma:.2f}<" in svg
    # (state 0, action 1) is an afterstate whose likelier code (sigma 0.9) leads on to state 1
    assert "\u03c3=0.90<" in svg
