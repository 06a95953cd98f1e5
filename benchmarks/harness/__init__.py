"""What every benchmark shares (the whole API a new benchmark needs; see benchmarks/README.md):

- ``results``: ``BenchResult``, ``write_result`` (``benchmarks/results/NAME.json``), ``host_info``;
- ``figures``: ``ratio``, ``per_second``, ``percentile``, ``Target``/``Ceiling``, tables, progress;
- ``repeat``: repetitions (median and spread per figure), ``Headline``; ``command``:
  ``run_benchmark`` (warm-up, ``--runs``, result file, summary, exit code);
- ``scratch``: ``Scratch`` names and ``scratch_resources`` (topics, keyspace; removed after),
  ``scratch_keyspace`` (a keyspace alone, for an API a benchmark starts), ``delete_hot_keys``,
  ``count_rows``;
- ``processes``: ``BenchWorker``/``running_worker`` (``interstore worker`` children through
  ``deploy.app_processes.WorkerChild``), ``running_apis``, ``wait_assigned``, ``wait_metric``;
- ``cpu``: ``ProcessCpu`` (the processes under test), ``GroupCpu`` (every process, grouped),
  ``HostCpu`` (the host busy and stolen; ``repeat`` records it for every run);
- ``background``: other users' traffic at a steady rate; ``records``: interactions made to order;
- ``options``: the shared options (``Runs``, ``WarmUp``, ``Seed``, ``Partitions``,
  ``IngestRate``), ``parse_counts`` (``--workers 1,2,3``), ``checked`` (params from options);
- ``errors``: ``BenchError``; ``report``: the README's table (``interstore bench report``).

Free ports (``deploy.process.free_port``) and Prometheus text (``deploy.scrape``) come from
``deploy/``, which the tests' support code shares.
"""
