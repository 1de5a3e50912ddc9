"""The first policy version: DESIGN.md's defaults (overridable by BNPL_* settings), in force from 2000-01-01."""

from django.db import migrations


def create_default_policy(apps, schema_editor):
    from policy.defaults import default_policy_ensure

    default_policy_ensure(apps)


class Migration(migrations.Migration):
    dependencies = [("policy", "0001_initial")]

    operations = [migrations.RunPython(create_default_policy, migrations.RunPython.noop)]
