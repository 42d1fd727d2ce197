"""The plural of status refreshes in the admin."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('vpn', '0007_notification_outbox'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='statusrefresh',
            options={'get_latest_by': 'started_at', 'ordering': ['-started_at', '-id'], 'verbose_name_plural': 'status refreshes'},
        ),
    ]
