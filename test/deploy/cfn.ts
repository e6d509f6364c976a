/**
 * Reading CloudFormation templates the way CloudFormation would for a given set of parameter values: conditions
 * evaluated, `Fn::If` branches chosen, `AWS::NoValue` dropped, resources whose condition is false left out. The
 * template tests then assert on what would be deployed, not on both branches of every switch.
 */
import { parse } from 'yaml';
import type { ScalarTag, CollectionTag } from 'yaml';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Template {
  AWSTemplateFormatVersion?: string;
  Parameters?: Record<string, { Default?: string } & JsonObject>;
  Conditions?: Record<string, Json>;
  Resources: Record<string, { Type: string; Condition?: string; Properties?: JsonObject } & JsonObject>;
  Outputs?: Record<string, JsonObject>;
  Rules?: Record<string, JsonObject>;
}

const FUNCTIONS = ['And', 'Base64', 'Cidr', 'Equals', 'FindInMap', 'GetAZs', 'If', 'ImportValue', 'Join', 'Not'];
const MORE_FUNCTIONS = ['Or', 'Select', 'Split', 'Sub', 'Transform', 'Contains', 'EachMemberEquals', 'ValueOf'];

/** The short-form tags (`!Ref`, `!Sub`, `!GetAtt A.B`, …) in their long form. */
const CFN_TAGS: (ScalarTag | CollectionTag)[] = [
  { tag: '!Ref', resolve: (s: string) => ({ Ref: s }) },
  { tag: '!Condition', resolve: (s: string) => ({ Condition: s }) },
  { tag: '!GetAtt', resolve: (s: string) => ({ 'Fn::GetAtt': s.split('.', 2) }) },
  { tag: '!GetAtt', collection: 'seq', resolve: (seq) => ({ 'Fn::GetAtt': seq.toJSON() as Json }) },
  ...[...FUNCTIONS, ...MORE_FUNCTIONS].flatMap((f): (ScalarTag | CollectionTag)[] => [
    { tag: `!${f}`, resolve: (s: string) => ({ [`Fn::${f}`]: s }) },
    { tag: `!${f}`, collection: 'seq', resolve: (seq) => ({ [`Fn::${f}`]: seq.toJSON() as Json }) },
    { tag: `!${f}`, collection: 'map', resolve: (map) => ({ [`Fn::${f}`]: map.toJSON() as Json }) },
  ]),
];

export function parseCfnYaml(text: string): Template {
  return parse(text, { customTags: CFN_TAGS }) as Template;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const NO_VALUE = Symbol('AWS::NoValue');

/** A template as deployed with its parameters' defaults (or the values given). */
export function evaluate(template: Template, values: Record<string, string> = {}): Template {
  const params: Record<string, string> = {};
  for (const [name, p] of Object.entries(template.Parameters ?? {})) {
    const v = values[name] ?? p.Default;
    if (v !== undefined) params[name] = String(v);
  }
  const conditions = new Map<string, boolean>();
  const condition = (name: string): boolean => {
    const known = conditions.get(name);
    if (known !== undefined) return known;
    const expr = template.Conditions?.[name];
    if (expr === undefined) throw new Error(`condition ${name} is not defined`);
    const value = truth(expr);
    conditions.set(name, value);
    return value;
  };
  const scalar = (v: Json): string => {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (isObject(v) && typeof v.Ref === 'string' && v.Ref in params) return params[v.Ref] as string;
    throw new Error(`cannot evaluate ${JSON.stringify(v)} in a condition`);
  };
  const truth = (expr: Json): boolean => {
    if (!isObject(expr)) throw new Error(`not a condition: ${JSON.stringify(expr)}`);
    const [fn, arg] = Object.entries(expr)[0] ?? [];
    const args = Array.isArray(arg) ? arg : [];
    switch (fn) {
      case 'Fn::Equals':
        return scalar(args[0] as Json) === scalar(args[1] as Json);
      case 'Fn::Not':
        return !truth(args[0] as Json);
      case 'Fn::And':
        return args.every(truth);
      case 'Fn::Or':
        return args.some(truth);
      case 'Condition':
        return condition(String(arg));
      default:
        throw new Error(`cannot evaluate condition function ${fn}`);
    }
  };
  const walk = (node: Json): Json | typeof NO_VALUE => {
    if (Array.isArray(node)) {
      return node.map(walk).filter((v): v is Json => v !== NO_VALUE);
    }
    if (!isObject(node)) return node;
    if (node.Ref === 'AWS::NoValue') return NO_VALUE;
    const fnIf = node['Fn::If'];
    if (Array.isArray(fnIf) && Object.keys(node).length === 1) {
      const [name, yes, no] = fnIf as [string, Json, Json];
      return walk(condition(name) ? yes : no);
    }
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(node)) {
      const w = walk(v);
      if (w !== NO_VALUE) out[k] = w;
    }
    return out;
  };
  const resources: Template['Resources'] = {};
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Condition !== undefined && !condition(r.Condition)) continue;
    resources[id] = walk(r as Json) as Template['Resources'][string];
  }
  return { ...template, Resources: resources };
}

export interface PolicyStatement {
  /** the resource holding the policy */
  holder: string;
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: Json[];
  Condition?: JsonObject;
  Principal?: Json;
}

const asList = (v: Json | undefined): Json[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every statement of every policy document: roles, managed and inline policies, resource policies. */
export function policyStatements(template: Template): PolicyStatement[] {
  const out: PolicyStatement[] = [];
  const collect = (holder: string, doc: Json | undefined) => {
    if (!isObject(doc)) return;
    for (const s of asList(doc.Statement)) {
      if (!isObject(s)) throw new Error(`${holder}: statement is not an object: ${JSON.stringify(s)}`);
      out.push({
        holder,
        Sid: s.Sid as string | undefined,
        Effect: s.Effect as 'Allow' | 'Deny',
        Action: asList(s.Action).map(String),
        Resource: asList(s.Resource),
        Condition: s.Condition as JsonObject | undefined,
        Principal: s.Principal,
      });
    }
  };
  for (const [id, r] of Object.entries(template.Resources)) {
    const p = r.Properties ?? {};
    if (r.Type === 'AWS::IAM::Role') {
      for (const policy of asList(p.Policies)) if (isObject(policy)) collect(id, policy.PolicyDocument);
    }
    if (p.PolicyDocument !== undefined) collect(id, p.PolicyDocument);
  }
  return out;
}
