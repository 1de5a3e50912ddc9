"""A partial index for the case queue's "on hold" column: the customers with an order on hold.

collection.selectors.cases_queue annotates each case with EXISTS(an order of the customer on
hold). PostgreSQL runs it as one hashed subplan over the orders on hold, which without an index
was a sequential scan of every order (1,000,000 in the workbench benchmark: 376 of the first
page's 390 ms of SQL). The few held orders by customer make it an index-only scan (0.3 ms).
RunSQL in this app, which reads it, rather than a model index on orders.Order: the orders app
never needs it, and its model stays as it is.
"""

from django.db import migrations

INDEX = "order_held_customer_idx"


class Migration(migrations.Migration):
    dependencies = [
        ("collections", "0013_case_history_previous_index"),
        ("orders", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON orders_order (customer_id) WHERE hold <> ''",
            f"DROP INDEX IF EXISTS {INDEX}",
        ),
    ]
