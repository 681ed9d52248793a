from stance import locate, model


def test_names_match_the_model_module():
    assert (locate.DEFAULT_MODEL, locate.WEIGHTS_FILE) == (model.DEFAULT_MODEL, model.WEIGHTS_FILE)


def test_an_installed_package_looks_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(locate, "CHECKOUT", tmp_path / "site-packages")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(locate.MODEL_ENV, raising=False)
    monkeypatch.delenv(locate.SEEDS_ENV, raising=False)
    assert locate.model_dir() == tmp_path / "models" / "minilm-stance"
    assert locate.seeds_dir() == tmp_path / "seeds"
    assert locate.models_root() == tmp_path / "models"


def test_environment_and_flags_win(tmp_path, monkeypatch):
    monkeypatch.setenv(locate.MODEL_ENV, str(tmp_path / "env-model"))
    monkeypatch.setenv(locate.SEEDS_ENV, str(tmp_path / "env-seeds"))
    assert locate.model_dir() == tmp_path / "env-model"
    assert locate.model_dir(tmp_path / "flag") == tmp_path / "flag"
    assert locate.seeds_dir() == tmp_path / "env-seeds"


def test_a_checkout_uses_its_own_directories(monkeypatch):
    monkeypatch.delenv(locate.MODEL_ENV, raising=False)
    assert locate.is_checkout()
    assert locate.model_dir() == locate.CHECKOUT / "models" / "minilm-stance"


def test_untrained_reasons(tmp_path):
    assert "no model at" in locate.untrained_reason(tmp_path / "missing")
    assert "only its card" in locate.untrained_reason(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"")
    assert locate.untrained_reason(tmp_path) is None
