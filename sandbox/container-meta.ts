// The host mackerel-container-agent registers for an ECS task: named by the task id, `meta.cloud.provider` one of
// ecs / fargate / ecs-managed / ecs-anywhere, `meta.cloud.metadata` its taskSpec (mackerelio/mackerel-container-agent
// platform/ecs/spec.go `generateSpec`, platform/ecs/types.go, platform/ecs/provider.go). Frozen like host-meta.ts.

export type ContainerProvider = 'ecs' | 'fargate' | 'ecs-managed' | 'ecs-anywhere';

export interface ContainerHostSpec {
  name: string;
  meta: Record<string, unknown>;
}

const deepFreeze = <T>(o: T): T => {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
};

/** The host body fields of a container-agent host for `taskArn` (cluster as the task metadata gives it: its name). */
export function containerAgentHost(
  taskArn: string,
  opts: { provider?: ContainerProvider; cluster?: string; family?: string; image?: string } = {},
): ContainerHostSpec {
  const resource = taskArn.slice(taskArn.indexOf(':task/') + ':task/'.length).split('/');
  const taskId = resource[resource.length - 1] ?? taskArn;
  const cluster = opts.cluster ?? (resource.length > 1 ? (resource[0] as string) : 'default');
  const family = opts.family ?? 'web';
  const started = '2026-11-30T09:00:00.000Z';
  const meta = {
    'agent-name': 'mackerel-container-agent/0.11.3 (Revision 1a2b3c4)',
    'agent-revision': '1a2b3c4',
    'agent-version': '0.11.3',
    cloud: {
      provider: opts.provider ?? 'fargate',
      metadata: {
        cluster,
        task: taskId,
        task_arn: taskArn,
        task_family: family,
        task_version: '12',
        desired_status: 'RUNNING',
        known_status: 'RUNNING',
        containers: [
          {
            docker_id: `${taskId}-1234567890`,
            docker_name: family,
            name: family,
            image: opts.image ?? `123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/${family}:latest`,
            desired_status: 'RUNNING',
            known_status: 'RUNNING',
            limits: { cpu: 256, memory: 512 },
            created_at: started,
            started_at: started,
            type: 'NORMAL',
            networks: [{ network_mode: 'awsvpc', ipv4_addresses: ['10.0.3.17'] }],
          },
        ],
        pull_started_at: started,
        pull_stopped_at: started,
        limits: { cpu: 0.25, memory: 512 },
      },
    },
  };
  return { name: taskId, meta: deepFreeze(meta) };
}
