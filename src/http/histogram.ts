import type { Registry } from "prom-client"

/**
 * A histogram counted in plain numbers and rendered by prom-client's registry. prom-client's own
 * Histogram costs about a microsecond per observation (label hashing and checks on every call); this
 * one is a bucket scan and two additions, for values observed once per accepted transaction.
 */
export const registerHistogram = (options: {
  readonly name: string
  readonly help: string
  /** Upper bounds, ascending; +Inf is added. */
  readonly buckets: ReadonlyArray<number>
  readonly registry: Registry
}) => {
  const { name, help, buckets } = options
  const counts = new Array<number>(buckets.length + 1).fill(0)
  let sum = 0
  let count = 0
  const observe = (value: number): void => {
    let i = 0
    while (i < buckets.length && value > (buckets[i] ?? Number.POSITIVE_INFINITY)) i++
    counts[i] = (counts[i] ?? 0) + 1
    sum += value
    count++
  }
  // The shape prom-client's registry reads from each metric: cumulative buckets, then sum and count.
  const get = () => {
    let cumulative = 0
    const values = counts.map((bucketCount, i) => {
      cumulative += bucketCount
      const bound = buckets[i]
      return {
        labels: { le: bound === undefined ? "+Inf" : bound },
        value: cumulative,
        metricName: `${name}_bucket`,
      }
    })
    return {
      name,
      help,
      type: "histogram" as const,
      aggregator: "sum" as const,
      values: [
        ...values,
        { labels: {}, value: sum, metricName: `${name}_sum` },
        { labels: {}, value: count, metricName: `${name}_count` },
      ],
    }
  }
  // The registry needs only `name` and `get()` of a metric; its type names prom-client's classes.
  const metric = { name, help, type: "histogram", get }
  options.registry.registerMetric(metric as unknown as Parameters<Registry["registerMetric"]>[0])
  return { observe }
}
