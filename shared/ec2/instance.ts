/** What the reconciler needs to know of one EC2 instance, in one region. */
export type InstanceState = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

export interface Instance {
  instanceId: string;
  region: string;
  state: InstanceState;
  privateDnsName?: string;
  privateIpAddress?: string;
  /** epoch milliseconds */
  launchTime: number;
  tags: Record<string, string>;
  /** MetadataOptions.HttpEndpoint; `disabled` means the agent cannot read its instance id. */
  httpEndpoint: 'enabled' | 'disabled';
}
