"""The recipe search's cells: names, overrides and budgets (no training)."""

from experiments import config as config_lib
from experiments import recipes


def test_cell_names_are_unique_and_spell_out_their_recipe():
    for task in recipes.BUDGETS:
        names = list(recipes.grid(task))
        assert len(names) == len(set(names)), task
    name, overrides = recipes._cell(1, "rmsprop", 3e-4, lr_half_life=40_000, clip_mode="tanh")
    assert name == "b1-rmsprop-3e-4-halflife40k-tanh"
    assert overrides["clip_elementwise"] == 10.0 and overrides["clip_global_norm"] == 0.0


def test_a_cell_budget_replaces_the_tasks():
    name, overrides = recipes._cell(32, "adam", 1e-3, curriculum="items18k")
    assert name == "b32-adam-1e-3-items18k" and overrides["curriculum"] == recipes.CURRICULA["items18k"]
    name, overrides = recipes._cell(8, "adam", 1e-3, budget=(100_000, 30.0, 5))
    assert name == "b8-adam-1e-3-100k-5seeds"
    config = recipes.cell_config("associative_recall", overrides)
    assert (config.seeds, config.steps, config.max_minutes) == (5, 12_500, 30.0)
    assert config.eval_every == 125 and config.optimizer == "adam" and config.clip_global_norm == 50.0
    plain = recipes.cell_config("associative_recall", recipes._cell(8, "adam", 1e-3)[1])
    assert (plain.seeds, plain.steps, plain.max_minutes) == (3, 5_000, 10.0)
    assert "budget" in overrides  # the cell's own dict is left as it was


def test_recall_cells_keep_the_model_they_were_searched_with():
    # The config moved to four heads of each kind and 256 units; a cell that names neither is still the
    # paper's one-head, 100-unit model with the hard bound, and the round-14 cell is the config's model.
    plain = recipes.cell_config("associative_recall", recipes._cell(8, "adam", 1e-3)[1])
    assert (plain.num_read_heads, plain.num_write_heads, plain.controller_size, plain.clip_mode) == (
        1,
        1,
        100,
        "hard",
    )
    grid = recipes.grid("associative_recall")
    kept = recipes.cell_config("associative_recall", grid["b8-adam-1e-3-tanh-h4-256-items18k-60k-5seeds"])
    config = config_lib.task_config("associative_recall")
    fields = ("num_read_heads", "num_write_heads", "controller_size", "clip_mode", "curriculum", "batch_size")
    assert [getattr(kept, f) for f in fields] == [getattr(config, f) for f in fields]
    assert (kept.optimizer, kept.learning_rate) == (config.optimizer, config.learning_rate)


def test_wall_time_is_incomplete_only_when_a_session_wrote_no_summary():
    first = [100.0 * i for i in range(11)]  # a session logging from 0 s to 1,000 s
    second = [5000.0 + 100.0 * i for i in range(6)]  # resumed after a gap, 5,000 s to 5,500 s
    times = first + second
    assert not recipes.wall_incomplete(times, 1600.0)  # both sessions' summaries: 1,000 + 500 + compile
    assert recipes.wall_incomplete(times, 600.0)  # only the second's: the first 1,000 s are missing
    assert not recipes.wall_incomplete(first, 1050.0)  # one session, no gap
    assert not recipes.wall_incomplete([], 0.0)


def test_every_cell_of_every_grid_makes_a_valid_config():
    # A task config's own schedule (the n-gram config's lr_drops) must not clash with a cell's: a cell has
    # the schedule it names, or none.
    for task in recipes.BUDGETS:
        for name, overrides in recipes.grid(task).items():
            config = recipes.cell_config(task, overrides)
            assert config.lr_drops == overrides.get("lr_drops", ""), (task, name)
            assert config.batch_size == overrides["batch_size"], (task, name)
    name, _ = recipes._cell(8, "adam", 1e-3, lr_drops="91287:3e-4,171940:1e-4")
    assert name == "b8-adam-1e-3-drops3e-4-1e-4"
