"""Backend keys sealed at rest: the column becomes a SealedTextField and every existing row is sealed."""

from django.db import migrations

import proxy_app.sealed_fields


def seal_rows(apps, schema_editor):
    BackendKey = apps.get_model("proxy_app", "BackendKey")
    for key in BackendKey.objects.using(schema_editor.connection.alias).all():
        key.save(update_fields=["secret"])  # a plaintext row loads as it is and is sealed on save


def open_rows(apps, schema_editor):
    BackendKey = apps.get_model("proxy_app", "BackendKey")
    table = BackendKey._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        for key in BackendKey.objects.using(schema_editor.connection.alias).all():
            cursor.execute(f"UPDATE {table} SET secret = %s WHERE id = %s", [key.secret, key.pk])


class Migration(migrations.Migration):

    dependencies = [
        ('proxy_app', '0003_proxy_key_from_config_file'),
    ]

    operations = [
        migrations.AlterField(
            model_name='backendkey',
            name='secret',
            field=proxy_app.sealed_fields.SealedTextField(help_text='Sealed at rest under the key-encryption key (PROXY_KEK)'),
        ),
        migrations.RunPython(seal_rows, open_rows),
    ]
