package kube

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// EchoPort is the echo server's port in every pod.
const EchoPort = 7

// EchoDeployment is a Deployment of the lab's echo server: replicas pods
// spread evenly over the nodes (at most one more on any node), each
// answering on its own address, port 7, with its pod name, and ready once
// its node reaches that port (the readiness probe runs from the node:
// node→pod works). No service-account token: the pods never call the API.
func EchoDeployment(namespace, name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	no := false
	grace := int64(1)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					AutomountServiceAccountToken:  &no,
					TerminationGracePeriodSeconds: &grace,
					DNSPolicy:                     corev1.DNSDefault,
					TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
						MaxSkew: 1, TopologyKey: corev1.LabelHostname,
						WhenUnsatisfiable: corev1.DoNotSchedule,
						LabelSelector:     &metav1.LabelSelector{MatchLabels: labels},
					}},
					Containers: []corev1.Container{{
						Name: "echo", Image: EchoImage, ImagePullPolicy: corev1.PullNever,
						Args: []string{"--listen", "0.0.0.0:7", "--name", "$(POD_NAME)"},
						Env: []corev1.EnvVar{{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{
							FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
						Ports: []corev1.ContainerPort{{Name: "echo", ContainerPort: EchoPort}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(EchoPort)}},
							PeriodSeconds: 1,
						},
					}},
				},
			},
		},
	}
}
