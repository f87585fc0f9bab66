# The seed sample's consumer (app/keda/aqs-consumer.py) reduced to its storage calls and timing, for
# side-by-side benchmarks: one tick per second; each tick builds a new QueueClient, receives ONE message
# (visibility 60 s), builds a new TableServiceClient, creates the entity {PartitionKey uuid1, RowKey UTC
# stamp, data, srcStamp, dateStamp}, then deletes the message. An empty queue is a logged error per tick.
# Differences from the sample, all about reaching Azurite: a connection string instead of
# DefaultAzureCredential and the account URL; BENCH_TICK_SECONDS (default 1, as the sample) for the
# benchmark's "no tick" variant. Run with Debian's /usr/bin/python3 (python3-azure).
import json, os, sys, time, uuid
from datetime import datetime
from azure.storage.queue import QueueClient
from azure.data.tables import TableServiceClient

CS = os.environ["AZURE_STORAGE_CONNECTION_STRING"]
QUEUE = os.environ["AZURE_QUEUE_NAME"]
TABLE = os.environ["AZURE_TABLE_NAME"]
TICK = float(os.environ.get("BENCH_TICK_SECONDS", "1"))
FMT = "%Y-%m-%d %H:%M:%S.%f"
processed = 0

def save_data(msg):
    body = json.loads(msg)
    date_stamp = datetime.utcnow().strftime(FMT)
    entity = {"PartitionKey": str(uuid.uuid1()), "RowKey": datetime.utcnow().strftime(FMT), "data": body["msg"], "srcStamp": body["srcStamp"], "dateStamp": date_stamp}
    table = TableServiceClient.from_connection_string(CS).get_table_client(TABLE)
    table.create_entity(entity=entity)

def receive_message():
    global processed
    queue = QueueClient.from_connection_string(CS, QUEUE)
    try:
        response = queue.receive_message(visibility_timeout=60)
        save_data(response.content)
        queue.delete_message(response, response.pop_receipt)
        processed += 1
        print(f"processed {processed}", flush=True)
    except Exception as e:
        print(f"Error happened in receive_message : {e} ", file=sys.stderr, flush=True)
    finally:
        queue.close()

start = time.time()
tick = 0
while True:
    tick += 1
    if TICK > 0:
        time.sleep(max(0.0, start + tick * TICK - time.time()))
    receive_message()
