/**
 * Example responses from Loki's HTTP API reference (docs/sources/reference/loki-http-api.md),
 * as documented: the query examples' `"stats": {...}` is the reference's own statistics
 * example, and the series example keeps one of its three label sets.
 */
const statistics = {
  ingester: {
    compressedBytes: 0,
    decompressedBytes: 0,
    decompressedLines: 0,
    headChunkBytes: 0,
    headChunkLines: 0,
    totalBatches: 0,
    totalChunksMatched: 0,
    totalDuplicates: 0,
    totalLinesSent: 0,
    totalReached: 0,
  },
  store: {
    compressedBytes: 0,
    decompressedBytes: 0,
    decompressedLines: 0,
    chunksDownloadTime: 0,
    totalChunksRef: 0,
    totalChunksDownloaded: 0,
    totalDuplicates: 0,
  },
  summary: {
    bytesProcessedPerSecond: 0,
    execTime: 0,
    linesProcessedPerSecond: 0,
    queueTime: 0,
    totalBytesProcessed: 0,
    totalLinesProcessed: 0,
  },
};

export const documented = {
  queryVector: {
    status: 'success',
    data: {
      resultType: 'vector',
      result: [
        { metric: {}, value: [1588889221, '1267.1266666666666'] },
        { metric: { level: 'warn' }, value: [1588889221, '37.77166666666667'] },
        { metric: { level: 'info' }, value: [1588889221, '37.69'] },
      ],
      stats: statistics,
    },
  },
  queryRangeMatrix: {
    status: 'success',
    data: {
      resultType: 'matrix',
      result: [
        {
          metric: { level: 'info' },
          values: [
            [1588889221, '137.95'],
            [1588889221, '467.115'],
            [1588889221, '658.8516666666667'],
          ],
        },
        {
          metric: { level: 'warn' },
          values: [
            [1588889221, '137.27833333333334'],
            [1588889221, '467.69'],
            [1588889221, '660.6933333333334'],
          ],
        },
      ],
      stats: statistics,
    },
  },
  queryRangeStreams: {
    status: 'success',
    data: {
      resultType: 'streams',
      result: [
        {
          stream: { filename: '/var/log/myproject.log', job: 'varlogs', level: 'info' },
          values: [
            ['1569266497240578000', 'foo'],
            ['1569266492548155000', 'bar'],
          ],
        },
      ],
      stats: statistics,
    },
  },
  labels: { status: 'success', data: ['foo', 'bar', 'baz'] },
  labelValues: { status: 'success', data: ['cat', 'dog', 'axolotl'] },
  series: {
    status: 'success',
    data: [
      {
        container_name: 'loki',
        app: 'loki',
        stream: 'stderr',
        filename: '/var/log/pods/default_loki-stack-0_50835643-1df0-11ea-ba79-025000000001/loki/0.log',
        name: 'loki',
        job: 'default/loki',
        namespace: 'default',
        instance: 'loki-stack-0',
      },
    ],
  },
  indexStats: { streams: 100, chunks: 1000, entries: 5000, bytes: 100000 },
};
