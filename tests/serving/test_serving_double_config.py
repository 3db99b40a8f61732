"""Start-up tests of the TF Serving TEST DOUBLE in `serving_double.py`.

The config rules the double shares with TF Serving (`serving_double_models.py`:
absolute base paths, `model_platform`, version labels at start-up, versions on
disk) and the `models=` form of `ServingDouble`. The SavedModels come from
`serving_double_fixtures.py`.
"""

import json
import os
import urllib.request

import tensorflow as tf
from serving_double import ServingDouble
from serving_double_fixtures import TIMEOUT, ModelFixture


class ServingDoubleConfigTest(tf.test.TestCase):
    """Start-up rules the double shares with TF Serving, and the `models=` form."""

    def test_models_argument_serves_the_latest_version(self):
        fixture = ModelFixture.get()
        with ServingDouble(models={"g": fixture.base_path}) as server:
            with urllib.request.urlopen(
                f"http://{server.rest_address}/v1/models/g", timeout=TIMEOUT
            ) as response:
                answer = json.loads(response.read())
        self.assertEqual([s["version"] for s in answer["model_version_status"]], ["2"])

    def test_relative_base_path_is_rejected_like_tf_serving(self):
        with self.assertRaisesRegex(
            ValueError, "to have an absolute path or URI; got base_path\\(\\)=models/g"
        ):
            ServingDouble(models={"g": "models/g"}).start()

    def test_model_platform_is_required(self):
        fixture = ModelFixture.get()
        config_path = os.path.join(self.create_tempdir().full_path, "models.config")
        with open(config_path, "w", encoding="utf-8") as config_file:
            config_file.write(
                f'model_config_list {{ config {{ name: "g" base_path: "{fixture.base_path}" }} }}'
            )
        with self.assertRaisesRegex(
            ValueError, "Illegal setting neither ModelServerConfig::model_type"
        ):
            ServingDouble(model_config_file=config_path).start()

    def test_labels_at_start_need_the_unavailable_models_flag(self):
        server = ServingDouble(
            model_config_file=ModelFixture.get().config_path,
            allow_version_labels_for_unavailable_models=False,
        )
        with self.assertRaisesRegex(
            ValueError, "Request to assign label to version 1 of model gen"
        ):
            server.start()

    def test_missing_versions_and_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "No versions of servable g found under base path"):
            ServingDouble(models={"g": self.create_tempdir().full_path}).start()
        with self.assertRaises(ValueError):
            ServingDouble()
