/** Builds one DynamoDB UpdateExpression from named parts, with placeholders for every name and value. */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';

export class Update {
  private readonly sets: string[] = [];
  private readonly removes: string[] = [];
  private readonly conditions: string[] = [];
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private n = 0;

  name(attr: string): string {
    const p = `#n${this.n++}`;
    this.names[p] = attr;
    return p;
  }
  value(v: unknown): string {
    const p = `:v${this.n++}`;
    this.values[p] = v;
    return p;
  }
  set(attr: string, v: unknown): this {
    this.sets.push(`${this.name(attr)} = ${this.value(v)}`);
    return this;
  }
  setRaw(expr: string): this {
    this.sets.push(expr);
    return this;
  }
  remove(attr: string): this {
    this.removes.push(this.name(attr));
    return this;
  }
  condition(expr: string): this {
    this.conditions.push(expr);
    return this;
  }
  get empty(): boolean {
    return this.sets.length === 0 && this.removes.length === 0;
  }
  command(table: string, key: Record<string, string>): UpdateCommand {
    const expr = [
      this.sets.length ? `SET ${this.sets.join(', ')}` : '',
      this.removes.length ? `REMOVE ${this.removes.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    return new UpdateCommand({
      TableName: table,
      Key: key,
      UpdateExpression: expr,
      ConditionExpression: this.conditions.length ? this.conditions.join(' AND ') : undefined,
      ExpressionAttributeNames: this.names,
      ExpressionAttributeValues: Object.keys(this.values).length ? this.values : undefined,
    });
  }
}
