"""HM_IMAGE_WEIGHTS: the deployment's default ResNet50V2 weights for runs launched without config (the image
sensor, UI backfills); "imagenet" when unset."""

import os
import subprocess
import sys

import pytest

from hm_pipeline.defs.resources import WEIGHTS_ENV, default_weights
from hm_pipeline_tests.conftest import REPO_ROOT


def test_default_is_imagenet_and_the_variable_overrides_it():
    assert default_weights({}) == "imagenet"
    assert default_weights({WEIGHTS_ENV: ""}) == "imagenet"
    assert default_weights({WEIGHTS_ENV: "imagenet-or-random"}) == "imagenet-or-random"
    assert default_weights({WEIGHTS_ENV: " random "}) == "random"


def test_an_unknown_value_is_refused_naming_the_variable_and_the_choices():
    with pytest.raises(ValueError, match=r"HM_IMAGE_WEIGHTS='resnet'.*imagenet, random, imagenet-or-random"):
        default_weights({WEIGHTS_ENV: "resnet"})


@pytest.mark.parametrize("value, expected", [(None, "imagenet"), ("imagenet-or-random", "imagenet-or-random")])
def test_the_asset_config_default_follows_the_environment_of_the_code_location(value, expected):
    """What a sensor run gets: the default in image_embeddings' config schema, set when the code location loads."""
    env = {k: v for k, v in os.environ.items() if k != WEIGHTS_ENV}
    if value is not None:
        env[WEIGHTS_ENV] = value
    code = ("from hm_pipeline.defs.images import image_embeddings as a; "
            "print(a.op.config_schema.config_type.fields['weights'].default_value)")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == expected
