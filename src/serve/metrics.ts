/** The server's Prometheus metrics (prom-client), one registry per server. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ServeMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'minivl_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'minivl_queue_depth', help: 'Chat requests waiting for a batch slot', registers: [this.registry] });
  readonly activeSequences = new Gauge({ name: 'minivl_active_sequences', help: 'Sequences holding a batch slot (vision, prefill or decode)', registers: [this.registry] });
  readonly promptTokens = new Counter({ name: 'minivl_prompt_tokens_total', help: 'Prompt tokens of finished requests', registers: [this.registry] });
  readonly completionTokens = new Counter({ name: 'minivl_completion_tokens_total', help: 'Generated tokens', registers: [this.registry] });
  readonly prefillTokens = new Counter({ name: 'minivl_prefill_tokens_total', help: 'Prompt tokens actually run through the decoder (not reused from the KV prefix cache)', registers: [this.registry] });
  readonly prefixReusedTokens = new Counter({ name: 'minivl_prefix_cache_reused_tokens_total', help: 'Prompt tokens whose keys/values came from the KV prefix cache', registers: [this.registry] });
  readonly visionCacheHits = new Counter({ name: 'minivl_vision_cache_hits_total', help: 'Images whose vision embeddings came from the cache', registers: [this.registry] });
  readonly visionCacheMisses = new Counter({ name: 'minivl_vision_cache_misses_total', help: 'Images encoded by the vision model', registers: [this.registry] });
  readonly cancelled = new Counter({ name: 'minivl_cancelled_total', help: 'Requests stopped because the client went away, by stage', labelNames: ['stage'], registers: [this.registry] });
  readonly ttft = new Histogram({
    name: 'minivl_time_to_first_token_seconds', help: 'Arrival to first generated token', registers: [this.registry],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 80],
  });
  readonly tokenLatency = new Histogram({
    name: 'minivl_time_per_output_token_seconds', help: 'Time between two generated tokens of one sequence', registers: [this.registry],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2],
  });
  /** The batch KV cache's size, read at scrape time (the scheduler that owns the cache sets it). */
  kvCacheSize: () => number = () => 0;
  readonly kvCacheBytes: Gauge = new Gauge({
    name: 'minivl_kv_cache_bytes', help: 'Bytes held by the batch KV cache (keys and values of every slot)', registers: [this.registry],
    collect: (): void => this.kvCacheBytes.set(this.kvCacheSize()),
  });
  readonly batchSize = new Histogram({ name: 'minivl_decode_batch_size', help: 'Sequences per batched decode call', buckets: [1, 2, 4, 8, 16, 32], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'minivl_process_' });
  }
}
